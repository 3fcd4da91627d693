import Foundation
import Learning
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
            platform = "conveyor_\(artifact.algorithm)"
            if artifact.forecast != nil {
                inputs = [TensorMetadata(name: "horizon", datatype: "INT64", shape: [1])]
                outputs = [
                    TensorMetadata(name: "date", datatype: "BYTES", shape: [-1]),
                    TensorMetadata(name: "value", datatype: "FP64", shape: [-1]),
                ]
                return
            }
            inputs = artifact.features.map { feature in
                let type =
                    switch feature.type {
                    case .numeric: "FP64"
                    case .boolean: "BOOL"
                    case .categorical, .date: "BYTES"
                    }
                return TensorMetadata(name: feature.name, datatype: type, shape: [-1])
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
}
