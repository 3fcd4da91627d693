import Foundation
import JSON
import ServiceKit
import Testing

@testable import ServingService

@Suite("Open Inference Protocol gRPC tensors")
struct GRPCInferTensorsTests {
    static func input(
        _ name: String, _ datatype: String, _ shape: [Int64],
        contents: (inout Inference_InferTensorContents) -> Void = { _ in }
    ) -> Inference_ModelInferRequest.InferInputTensor {
        var tensor = Inference_ModelInferRequest.InferInputTensor()
        tensor.name = name
        tensor.datatype = datatype
        tensor.shape = shape
        var values = Inference_InferTensorContents()
        contents(&values)
        if values != Inference_InferTensorContents() { tensor.contents = values }
        return tensor
    }

    static func problem(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch let error as APIError {
            return error.problems.first.map { "\($0.field): \($0.problem)" } ?? error.message
        } catch {
            return "\(error)"
        }
    }

    @Test(
        "typed contents of each datatype become the tensor's data",
        arguments: [
            ("BOOL", [JSONValue.bool(true), .bool(false)]),
            ("INT32", [.number(-7), .number(9)]),
            ("INT64", [.number(-7), .number(9)]),
            ("UINT16", [.number(7), .number(9)]),
            ("UINT64", [.number(7), .number(9)]),
            ("FP32", [.number(0.375), .number(-2)]),
            ("FP64", [.number(0.1), .number(-2)]),
            ("BYTES", [.string("red"), .string("")]),
        ])
    func typed(datatype: String, expected: [JSONValue]) throws {
        var message = Inference_ModelInferRequest()
        message.inputs = [
            Self.input("x", datatype, [2]) { contents in
                switch datatype {
                case "BOOL": contents.boolContents = [true, false]
                case "INT32": contents.intContents = [-7, 9]
                case "INT64": contents.int64Contents = [-7, 9]
                case "UINT16": contents.uintContents = [7, 9]
                case "UINT64": contents.uint64Contents = [7, 9]
                case "FP32": contents.fp32Contents = [0.375, -2]
                case "FP64": contents.fp64Contents = [0.1, -2]
                default: contents.bytesContents = [Data("red".utf8), Data()]
                }
            }
        ]
        let object = try GRPCInferTensors.request(message)
        #expect(object["inputs"]?.arrayValue?.first?["data"] == .array(expected))
        #expect(object["inputs"]?.arrayValue?.first?["shape"] == .array([.number(2)]))
    }

    @Test("raw contents decode by datatype; the id and requested outputs carry over")
    func raw() throws {
        var message = Inference_ModelInferRequest()
        message.id = "r-1"
        message.inputs = [Self.input("a", "FP64", [2]), Self.input("c", "BYTES", [1])]
        message.rawInputContents = [
            [1.5, -2.0].withUnsafeBytes { Data($0) }, Data([3, 0, 0, 0, 114, 101, 100]),
        ]
        var output = Inference_ModelInferRequest.InferRequestedOutputTensor()
        output.name = "prediction"
        message.outputs = [output]
        let object = try GRPCInferTensors.request(message)
        let inputs = try #require(object["inputs"]?.arrayValue)
        #expect(inputs[0]["data"] == .array([.number(1.5), .number(-2)]))
        #expect(inputs[1]["data"] == .array([.string("red")]))
        #expect(object["id"] == .string("r-1"))
        #expect(object["outputs"] == .array([.object(["name": .string("prediction")])]))
    }

    @Test(
        "a request that does not fit is refused naming the field",
        arguments: [
            ("raw buffers for some inputs only", "raw_input_contents: holds 1 buffers for 2 inputs"),
            ("a raw buffer that is not whole elements", "raw_input_contents[0]"),
            ("contents beside raw buffers", "inputs[0].contents"),
            ("another datatype's contents", "inputs[0].contents.int64_contents"),
            ("FP16 as typed contents", "inputs[0].contents.fp32_contents"),
            ("BYTES that are not UTF-8", "inputs[0].contents.bytes_contents[0]"),
        ])
    func refused(case name: String, field: String) {
        var message = Inference_ModelInferRequest()
        switch name {
        case "raw buffers for some inputs only":
            message.inputs = [Self.input("a", "FP64", [1]), Self.input("b", "FP64", [1])]
            message.rawInputContents = [Data(count: 8)]
        case "a raw buffer that is not whole elements":
            message.inputs = [Self.input("a", "FP64", [1])]
            message.rawInputContents = [Data(count: 12)]
        case "contents beside raw buffers":
            message.inputs = [Self.input("a", "FP64", [1]) { $0.fp64Contents = [1] }]
            message.rawInputContents = [Data(count: 8)]
        case "another datatype's contents":
            message.inputs = [Self.input("a", "FP64", [1]) { $0.int64Contents = [1] }]
        case "FP16 as typed contents":
            message.inputs = [Self.input("a", "FP16", [1]) { $0.fp32Contents = [1] }]
        default:
            message.inputs = [Self.input("c", "BYTES", [1]) { $0.bytesContents = [Data([0xff])] }]
        }
        let problem = Self.problem { _ = try GRPCInferTensors.request(message) }
        #expect(problem?.hasPrefix(field) == true, "\(name): \(problem ?? "accepted")")
    }

    @Test("answers come back raw (little-endian, BYTES length-prefixed) or typed, as asked")
    func response() {
        let outputs = [
            InferenceTensors.Output(name: "label", datatype: "BYTES", shape: [1], data: [.string("hi")]),
            InferenceTensors.Output(
                name: "probabilities", datatype: "FP64", shape: [1, 2], data: [.number(0.25), .number(0.75)]),
        ]
        let raw = GRPCInferTensors.response(outputs, raw: true, model: "m", version: "v1", id: "r")
        #expect(raw.rawOutputContents == [Data([2, 0, 0, 0, 104, 105]), [0.25, 0.75].withUnsafeBytes { Data($0) }])
        #expect(raw.outputs.map(\.shape) == [[1], [1, 2]])
        #expect(raw.outputs.allSatisfy { !$0.hasContents })
        let typed = GRPCInferTensors.response(outputs, raw: false, model: "m", version: "v1", id: "r")
        #expect(typed.rawOutputContents.isEmpty)
        #expect(typed.outputs[0].contents.bytesContents == [Data("hi".utf8)])
        #expect(typed.outputs[1].contents.fp64Contents == [0.25, 0.75])
        #expect(typed.modelVersion == "v1" && typed.id == "r")
    }

    @Test("HTTP statuses map onto the gRPC codes the protocol pairs them with")
    func codes() {
        #expect(InferenceGRPCService.code(.unprocessableContent) == .invalidArgument)
        #expect(InferenceGRPCService.code(.badRequest) == .invalidArgument)
        #expect(InferenceGRPCService.code(.notFound) == .notFound)
        #expect(InferenceGRPCService.code(.contentTooLarge) == .resourceExhausted)
        #expect(InferenceGRPCService.code(.serviceUnavailable) == .unavailable)
        #expect(InferenceGRPCService.code(.internalServerError) == .internalError)
    }
}
