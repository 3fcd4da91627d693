import Foundation
import JSON
import ServiceKit
import Testing

@testable import ServingService

/// The Open Inference Protocol's datatypes bound their values: a tensor
/// declared `UINT8` cannot carry 300, whichever way it arrives.
@Suite("Open Inference Protocol datatype ranges")
struct DatatypeRangeTests {
    static func problems(_ datatype: String, _ data: String) -> [FieldProblem]? {
        let json = #"{"name":"b","shape":[1],"datatype":"\#(datatype)","data":[\#(data)]}"#
        do {
            _ = try InferenceTensors.tensor(try JSONValue.parse(Array(json.utf8)), index: 0)
            return nil
        } catch let error as APIError {
            return error.problems
        } catch {
            return [FieldProblem(field: "?", problem: "\(error)")]
        }
    }

    @Test(
        "a value outside its datatype's range, or a fraction in an integer type, is a 422 naming the element",
        arguments: [
            ("UINT8", "300"), ("UINT8", "-1"), ("UINT8", "1.5"), ("INT8", "-129"), ("INT8", "128"),
            ("UINT16", "65536"), ("INT16", "32768"), ("UINT32", "4294967296"), ("INT32", "2147483648"),
            ("INT32", "-2147483649"), ("INT64", "9223372036854775808"), ("UINT64", "18446744073709551616"),
            ("UINT64", "-1"), ("FP16", "65520"), ("FP32", "1e39"), ("FP32", "-1e39"),
        ])
    func outOfRange(_ datatype: String, _ value: String) {
        let problems = Self.problems(datatype, value)
        #expect(
            problems?.map(\.field) == ["inputs[0].data[0]"], "\(datatype) \(value): \(String(describing: problems))")
    }

    @Test(
        "the extremes of each datatype, a missing value and the float types' fractions are accepted",
        arguments: [
            ("UINT8", "255"), ("UINT8", "0"), ("INT8", "-128"), ("INT8", "127"), ("UINT16", "65535"),
            ("INT16", "-32768"), ("UINT32", "4294967295"), ("INT32", "-2147483648"), ("INT64", "-9223372036854775808"),
            ("UINT64", "18446744073709549568"), ("FP16", "65504"), ("FP16", "0.5"), ("FP32", "3.4e38"),
            ("FP64", "1e300"), ("UINT8", "null"), ("BYTES", "\"red\""), ("BOOL", "true"),
        ])
    func inRange(_ datatype: String, _ value: String) {
        #expect(Self.problems(datatype, value) == nil, "\(datatype) \(value)")
    }

    @Test("gRPC typed contents are held to the same ranges: uint_contents 300 in a UINT8 tensor is refused")
    func typedContents() throws {
        var message = Inference_ModelInferRequest()
        var tensor = Inference_ModelInferRequest.InferInputTensor()
        tensor.name = "b"
        tensor.datatype = "UINT8"
        tensor.shape = [2]
        tensor.contents.uintContents = [7, 300]
        message.inputs = [tensor]
        let object = try GRPCInferTensors.request(message)
        let input = try #require(object["inputs"]?.arrayValue?.first)
        do {
            _ = try InferenceTensors.tensor(input, index: 0)
            Issue.record("UINT8 300 was accepted")
        } catch let error as APIError {
            #expect(error.problems.map(\.field) == ["inputs[0].data[1]"])
            #expect(error.problems.first?.problem.contains("UINT8") == true, "\(error.problems)")
        }
    }
}
