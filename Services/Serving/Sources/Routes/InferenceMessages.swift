import Foundation
import JSON
import Learning
import ONNX
import ServiceKit

/// The Open Inference Protocol's messages (KServe / Triton "v2" REST).
enum InferenceMessages {
    struct ProtocolError: Encodable {
        let error: String
        let problems: [FieldProblem]
    }

    struct ServerMetadata: Encodable {
        let name: String
        let version: String
        let extensions: [String]
    }

    struct ModelReady: Encodable {
        let name: String
        let ready: Bool
    }

    /// A tensor's description in model metadata.
    struct TensorMetadata: Encodable {
        let name: String
        let datatype: String
        let shape: [Int]
    }

    struct ModelMetadata: Encodable {
        let name: String
        let versions: [String]
        let platform: String
        let inputs: [TensorMetadata]
        let outputs: [TensorMetadata]

        init(_ model: LoadedModel) {
            let artifact = model.artifact
            name = artifact.name
            versions = [model.deployment.version]
            let onnx: ONNXPredictor? = if case .onnx(let model) = artifact.predictor { model } else { nil }
            platform = onnx == nil ? "conveyor_\(artifact.algorithm)" : "onnx"
            if artifact.forecast != nil {
                inputs = [TensorMetadata(name: "horizon", datatype: "INT64", shape: [1])]
                outputs = [
                    TensorMetadata(name: "date", datatype: "BYTES", shape: [-1]),
                    TensorMetadata(name: "value", datatype: "FP64", shape: [-1]),
                ]
                return
            }
            if let onnx {
                // The graph's own inputs; /infer accepts exactly these (one per feature, or one [N, F] tensor).
                inputs = onnx.model.inputs.map { input in
                    TensorMetadata(
                        name: input.name, datatype: Self.datatype(input.elementType),
                        shape: input.shape?.map { $0 ?? -1 } ?? [-1])
                }
            } else {
                inputs = artifact.features.map { feature in
                    let type =
                        switch feature.type {
                        case .numeric: "FP64"
                        case .boolean: "BOOL"
                        case .categorical, .date: "BYTES"
                        }
                    return TensorMetadata(name: feature.name, datatype: type, shape: [-1])
                }
            }
            if let classes = artifact.classes {
                outputs = [
                    TensorMetadata(name: "label", datatype: "BYTES", shape: [-1]),
                    TensorMetadata(name: "probabilities", datatype: "FP64", shape: [-1, classes.count]),
                ]
            } else {
                outputs = [TensorMetadata(name: "prediction", datatype: "FP64", shape: [-1])]
            }
        }

        /// The protocol's name for an ONNX element type.
        static func datatype(_ type: ONNXElementType?) -> String {
            switch type {
            case .float: "FP32"
            case .double: "FP64"
            case .int64: "INT64"
            case .int32: "INT32"
            case .bool: "BOOL"
            case .string, nil: "BYTES"
            }
        }
    }

    struct Reply: Encodable {
        let modelName: String
        let modelVersion: String
        let id: String
        let outputs: [InferenceTensors.Output]

        enum CodingKeys: String, CodingKey {
            case modelName = "model_name"
            case modelVersion = "model_version"
            case id, outputs
        }
    }

    /// An output in a binary reply's JSON header: its data is either inline or after the header.
    struct OutputHeader: Encodable {
        struct Parameters: Encodable {
            let binaryDataSize: Int
            enum CodingKeys: String, CodingKey { case binaryDataSize = "binary_data_size" }
        }
        let name: String
        let datatype: String
        let shape: [Int]
        let data: [JSONValue]?
        let parameters: Parameters?
    }

    /// The JSON header of a reply whose outputs (some or all) follow as binary data.
    struct BinaryReply: Encodable {
        let modelName: String
        let modelVersion: String
        let id: String
        let outputs: [OutputHeader]

        enum CodingKeys: String, CodingKey {
            case modelName = "model_name"
            case modelVersion = "model_version"
            case id, outputs
        }
    }
}
