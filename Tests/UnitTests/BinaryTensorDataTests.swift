import Foundation
import JSON
import ServiceKit
import Testing

@testable import ServingService

@Suite("Open Inference Protocol binary tensor data")
struct BinaryTensorDataTests {
    static func bytes<T>(_ values: [T]) -> [UInt8] {
        values.withUnsafeBytes { Array($0) }
    }

    @Test("little-endian elements of every fixed-size datatype decode to their values")
    func fixedSize() throws {
        #expect(
            try BinaryTensorData.decode(Self.bytes([1.5, -2.25])[...], datatype: "FP64", field: "x") == [
                .number(1.5), .number(-2.25),
            ])
        #expect(
            try BinaryTensorData.decode(Self.bytes([Float(0.375)])[...], datatype: "FP32", field: "x") == [
                .number(0.375)
            ])
        #expect(
            try BinaryTensorData.decode(Self.bytes([Int32(-7), 9])[...], datatype: "INT32", field: "x") == [
                .number(-7), .number(9),
            ])
        #expect(
            try BinaryTensorData.decode(Self.bytes([Int64.min])[...], datatype: "INT64", field: "x") == [
                .number(Double(Int64.min))
            ])
        #expect(
            try BinaryTensorData.decode(Self.bytes([UInt16(65535)])[...], datatype: "UINT16", field: "x") == [
                .number(65535)
            ])
        #expect(try BinaryTensorData.decode([1, 0][...], datatype: "BOOL", field: "x") == [.bool(true), .bool(false)])
        #expect(
            try BinaryTensorData.decode(Self.bytes([Float16(2.5)])[...], datatype: "FP16", field: "x") == [.number(2.5)]
        )
    }

    @Test("BYTES: length-prefixed UTF-8; a cut-off length or element is a named 422")
    func strings() throws {
        let encoded: [UInt8] = [3, 0, 0, 0] + Array("red".utf8) + [0, 0, 0, 0]
        #expect(
            try BinaryTensorData.decode(encoded[...], datatype: "BYTES", field: "x") == [.string("red"), .string("")])
        #expect(throws: APIError.self) {
            try BinaryTensorData.decode([9, 0, 0, 0, 65][...], datatype: "BYTES", field: "x")
        }
        #expect(throws: APIError.self) { try BinaryTensorData.decode([1, 0][...], datatype: "BYTES", field: "x") }
        #expect(throws: APIError.self) {
            try BinaryTensorData.decode([1, 0, 0, 0, 0xff][...], datatype: "BYTES", field: "x")
        }
    }

    @Test("a size that is not whole elements, a header past the body, bytes beyond the inputs: clear errors")
    func malformed() throws {
        #expect(throws: APIError.self) { try BinaryTensorData.decode([0, 0, 0][...], datatype: "INT32", field: "x") }
        #expect(throws: APIError.self) { try BinaryTensorData.split([1, 2, 3], headerLength: "4") }
        #expect(throws: APIError.self) { try BinaryTensorData.split([1, 2, 3], headerLength: "-1") }
        let input: JSONValue = .object([
            "name": .string("a"), "datatype": .string("FP64"), "shape": .array([.number(1)]),
            "parameters": .object(["binary_data_size": .number(8)]),
        ])
        #expect(throws: APIError.self) { try BinaryTensorData.attach([input], binary: [0, 0, 0, 0][...]) }
        #expect(throws: APIError.self) {
            try BinaryTensorData.attach([input], binary: [UInt8](repeating: 0, count: 12)[...])
        }
        let attached = try BinaryTensorData.attach([input], binary: Self.bytes([4.0])[...])
        #expect(attached[0]["data"] == .array([.number(4)]))
    }

    @Test("outputs encode as the client reads them: FP64 little-endian, BYTES length-prefixed")
    func outputs() {
        let numbers = InferenceTensors.Output(
            name: "p", datatype: "FP64", shape: [2], data: [.number(1), .number(-0.5)])
        #expect(BinaryTensorData.encode(numbers) == Self.bytes([1.0, -0.5]))
        let labels = InferenceTensors.Output(name: "l", datatype: "BYTES", shape: [1], data: [.string("hi")])
        #expect(BinaryTensorData.encode(labels) == [2, 0, 0, 0, 104, 105])
    }
}
