import Foundation
import JSON
import ServiceKit

/// `ModelInfer`'s protobuf tensors turned into the protocol's JSON tensors
/// and back, so gRPC requests go through exactly the validation and scoring
/// of HTTP ones (`ProtocolInference`). Inputs come either as
/// `raw_input_contents` (one little-endian buffer per input, in input order,
/// as `tritonclient.grpc` sends) or as typed `contents`; the answer uses the
/// form the request used.
enum GRPCInferTensors {
    /// The request as the JSON object `ProtocolInference.answer` takes: `id`, `inputs` with `data`, `outputs`.
    static func request(_ message: Inference_ModelInferRequest) throws -> [String: JSONValue] {
        let raw = message.rawInputContents
        if !raw.isEmpty, raw.count != message.inputs.count {
            throw APIError.validation([
                FieldProblem(
                    field: "raw_input_contents",
                    problem:
                        "holds \(raw.count) buffers for \(message.inputs.count) inputs: send one per input, or use contents for all"
                )
            ])
        }
        var inputs: [JSONValue] = []
        inputs.reserveCapacity(message.inputs.count)
        for (index, input) in message.inputs.enumerated() {
            let field = "inputs[\(index)]"
            let data: [JSONValue]
            if raw.isEmpty {
                data = try typedContents(input, field: field)
            } else {
                if input.hasContents, input.contents != Inference_InferTensorContents() {
                    throw APIError.validation([
                        FieldProblem(
                            field: "\(field).contents", problem: "must be empty when raw_input_contents is used")
                    ])
                }
                data = try BinaryTensorData.decode(
                    ArraySlice(raw[index]), datatype: input.datatype, field: field,
                    sizeField: "raw_input_contents[\(index)]")
            }
            inputs.append(
                .object([
                    "name": .string(input.name), "datatype": .string(input.datatype),
                    "shape": .array(input.shape.map { .number(Double($0)) }), "data": .array(data),
                ]))
        }
        var object: [String: JSONValue] = ["inputs": .array(inputs)]
        if !message.id.isEmpty { object["id"] = .string(message.id) }
        if !message.outputs.isEmpty {
            object["outputs"] = .array(message.outputs.map { .object(["name": .string($0.name)]) })
        }
        return object
    }

    /// The values of a tensor sent as typed `contents`: the field its datatype names, and no other.
    private static func typedContents(_ input: Inference_ModelInferRequest.InferInputTensor, field: String) throws
        -> [JSONValue]
    {
        let contents = input.contents
        let filled: [(String, Int)] = [
            ("bool_contents", contents.boolContents.count), ("int_contents", contents.intContents.count),
            ("int64_contents", contents.int64Contents.count), ("uint_contents", contents.uintContents.count),
            ("uint64_contents", contents.uint64Contents.count), ("fp32_contents", contents.fp32Contents.count),
            ("fp64_contents", contents.fp64Contents.count), ("bytes_contents", contents.bytesContents.count),
        ].filter { $0.1 > 0 }
        let expected = contentsField(input.datatype)
        if let other = filled.first(where: { $0.0 != expected }) {
            let want = expected.map { "holds \($0) only" } ?? "cannot carry \(input.datatype): use raw_input_contents"
            throw APIError.validation([
                FieldProblem(
                    field: "\(field).contents.\(other.0)", problem: "is set, but a \(input.datatype) tensor \(want)")
            ])
        }
        switch input.datatype {
        case "BOOL": return contents.boolContents.map { .bool($0) }
        case "INT8", "INT16", "INT32": return contents.intContents.map { .number(Double($0)) }
        case "INT64": return contents.int64Contents.map { .number(Double($0)) }
        case "UINT8", "UINT16", "UINT32": return contents.uintContents.map { .number(Double($0)) }
        case "UINT64": return contents.uint64Contents.map { .number(Double($0)) }
        case "FP32": return contents.fp32Contents.map { .number(Double($0)) }
        case "FP64": return contents.fp64Contents.map { .number($0) }
        case "BYTES":
            return try contents.bytesContents.enumerated().map { element, bytes in
                guard let text = String(validating: bytes, as: UTF8.self) else {
                    throw APIError.validation([
                        FieldProblem(
                            field: "\(field).contents.bytes_contents[\(element)]", problem: "is not UTF-8")
                    ])
                }
                return .string(text)
            }
        default: return []  // an unknown datatype: InferenceTensors.tensor names it
        }
    }

    /// The `InferTensorContents` field a datatype's values go in (none for FP16 and BF16).
    static func contentsField(_ datatype: String) -> String? {
        switch datatype {
        case "BOOL": "bool_contents"
        case "INT8", "INT16", "INT32": "int_contents"
        case "INT64": "int64_contents"
        case "UINT8", "UINT16", "UINT32": "uint_contents"
        case "UINT64": "uint64_contents"
        case "FP32": "fp32_contents"
        case "FP64": "fp64_contents"
        case "BYTES": "bytes_contents"
        default: nil
        }
    }

    /// The answer: each output's metadata, and its values as raw bytes (`raw_output_contents`,
    /// in output order) or typed `contents`.
    static func response(
        _ outputs: [InferenceTensors.Output], raw: Bool, model: String, version: String, id: String
    ) -> Inference_ModelInferResponse {
        var response = Inference_ModelInferResponse()
        response.modelName = model
        response.modelVersion = version
        response.id = id
        for output in outputs {
            var tensor = Inference_ModelInferResponse.InferOutputTensor()
            tensor.name = output.name
            tensor.datatype = output.datatype
            tensor.shape = output.shape.map { Int64($0) }
            if raw {
                response.rawOutputContents.append(Data(BinaryTensorData.encode(output)))
            } else {
                tensor.contents = typed(output)
            }
            response.outputs.append(tensor)
        }
        return response
    }

    /// An output's values as typed contents (the outputs are FP64 numbers or BYTES strings).
    private static func typed(_ output: InferenceTensors.Output) -> Inference_InferTensorContents {
        var contents = Inference_InferTensorContents()
        if output.datatype == "BYTES" {
            contents.bytesContents = output.data.map { Data(($0.stringValue ?? "").utf8) }
        } else {
            contents.fp64Contents = output.data.map { $0.doubleValue ?? .nan }
        }
        return contents
    }
}
