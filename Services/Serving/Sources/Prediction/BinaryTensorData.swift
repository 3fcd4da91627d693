import Foundation
import JSON
import ServiceKit

/// The Open Inference Protocol's binary tensor data extension (as KServe and
/// Triton document it, and as `tritonclient` sends by default): the body is a
/// JSON header of `Inference-Header-Content-Length` bytes followed by the raw
/// bytes of each input whose `parameters.binary_data_size` is set, in input
/// order. Little-endian fixed-size elements; `BYTES` elements are each a
/// 4-byte little-endian length and that many bytes. Binary inputs are turned
/// into ordinary `data` arrays, so every tensor is validated the same way.
enum BinaryTensorData {
    /// The request's header name, in both directions.
    static let headerName = "Inference-Header-Content-Length"

    /// Bytes per element of the fixed-size datatypes.
    static let elementSizes: [String: Int] = [
        "BOOL": 1, "UINT8": 1, "INT8": 1, "UINT16": 2, "INT16": 2, "FP16": 2, "UINT32": 4, "INT32": 4, "FP32": 4,
        "UINT64": 8, "INT64": 8, "FP64": 8,
    ]

    /// Splits a body into its JSON header and binary section; `headerLength` is the header's value.
    static func split(_ body: [UInt8], headerLength: String) throws -> (
        json: ArraySlice<UInt8>, binary: ArraySlice<UInt8>
    ) {
        guard let length = Int(headerLength.trimmingCharacters(in: .whitespaces)), length >= 0 else {
            throw APIError(
                .badRequest, "\(headerName) must be a whole number of bytes, not \"\(headerLength.prefix(40))\"")
        }
        guard length <= body.count else {
            throw APIError(
                .badRequest, "\(headerName) is \(length) but the body has only \(body.count) bytes")
        }
        return (body[..<length], body[length...])
    }

    /// `inputs` with each binary input's bytes decoded into `data`; every byte must be used.
    static func attach(_ inputs: [JSONValue], binary: ArraySlice<UInt8>) throws -> [JSONValue] {
        var offset = binary.startIndex
        var attached: [JSONValue] = []
        for (index, input) in inputs.enumerated() {
            guard case .object(var object) = input, let size = input["parameters"]?["binary_data_size"] else {
                attached.append(input)
                continue
            }
            let field = "inputs[\(index)].parameters.binary_data_size"
            guard let bytes = size.doubleValue, bytes >= 0, bytes == bytes.rounded(), bytes <= Double(Int.max) else {
                throw APIError.validation([FieldProblem(field: field, problem: "must be a whole number of bytes")])
            }
            let count = Int(bytes)
            guard count <= binary.endIndex - offset else {
                throw APIError.validation([
                    FieldProblem(
                        field: field,
                        problem: "is \(count) but only \(binary.endIndex - offset) bytes of binary data are left")
                ])
            }
            let datatype = input["datatype"]?.stringValue ?? ""
            object["data"] = .array(
                try decode(binary[offset..<(offset + count)], datatype: datatype, field: "inputs[\(index)]"))
            offset += count
            attached.append(.object(object))
        }
        guard offset == binary.endIndex else {
            throw APIError(
                .badRequest,
                "\(binary.endIndex - offset) bytes after the JSON header belong to no input (binary_data_size)")
        }
        return attached
    }

    /// The elements of one binary tensor; `sizeField` names where its size came from
    /// (`inputs[i].parameters.binary_data_size` unless said).
    static func decode(_ bytes: ArraySlice<UInt8>, datatype: String, field: String, sizeField: String? = nil) throws
        -> [JSONValue]
    {
        if datatype == "BYTES" { return try strings(bytes, field: field) }
        guard let size = elementSizes[datatype] else {
            throw APIError.validation([
                FieldProblem(field: "\(field).datatype", problem: "\"\(datatype)\" has no binary form here")
            ])
        }
        guard bytes.count % size == 0 else {
            throw APIError.validation([
                FieldProblem(
                    field: sizeField ?? "\(field).parameters.binary_data_size",
                    problem: "\(bytes.count) bytes is not a whole number of \(size)-byte \(datatype) elements")
            ])
        }
        var values: [JSONValue] = []
        values.reserveCapacity(bytes.count / size)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            var bits: UInt64 = 0
            for byte in 0..<size { bits |= UInt64(bytes[index + byte]) << (8 * UInt64(byte)) }
            index += size
            values.append(value(bits, datatype: datatype))
        }
        return values
    }

    private static func value(_ bits: UInt64, datatype: String) -> JSONValue {
        switch datatype {
        case "BOOL": .bool(bits != 0)
        case "FP64": .number(Double(bitPattern: bits))
        case "FP32": .number(Double(Float(bitPattern: UInt32(truncatingIfNeeded: bits))))
        case "FP16": .number(Double(Float16(bitPattern: UInt16(truncatingIfNeeded: bits))))
        case "INT8": .number(Double(Int8(truncatingIfNeeded: bits)))
        case "INT16": .number(Double(Int16(truncatingIfNeeded: bits)))
        case "INT32": .number(Double(Int32(truncatingIfNeeded: bits)))
        case "INT64": .number(Double(Int64(bitPattern: bits)))
        default: .number(Double(bits))  // the unsigned types
        }
    }

    /// Length-prefixed strings; each must be UTF-8 and fit in what is left.
    private static func strings(_ bytes: ArraySlice<UInt8>, field: String) throws -> [JSONValue] {
        var values: [JSONValue] = []
        var index = bytes.startIndex
        while index < bytes.endIndex {
            guard bytes.endIndex - index >= 4 else {
                throw APIError.validation([
                    FieldProblem(field: "\(field).data", problem: "a BYTES element's 4-byte length is cut off")
                ])
            }
            var length = 0
            for byte in 0..<4 { length |= Int(bytes[index + byte]) << (8 * byte) }
            index += 4
            guard length <= bytes.endIndex - index else {
                throw APIError.validation([
                    FieldProblem(
                        field: "\(field).data",
                        problem: "a BYTES element claims \(length) bytes but \(bytes.endIndex - index) are left")
                ])
            }
            guard let text = String(validating: bytes[index..<(index + length)], as: UTF8.self) else {
                throw APIError.validation([
                    FieldProblem(field: "\(field).data", problem: "a BYTES element is not UTF-8")
                ])
            }
            values.append(.string(text))
            index += length
        }
        return values
    }

    /// The bytes of an output tensor: FP64 as 8-byte little-endian doubles, BYTES length-prefixed.
    static func encode(_ output: InferenceTensors.Output) -> [UInt8] {
        var bytes: [UInt8] = []
        for element in output.data {
            switch element {
            case .string(let text):
                let utf8 = Array(text.utf8)
                withUnsafeBytes(of: UInt32(utf8.count).littleEndian) { bytes += $0 }
                bytes += utf8
            case .bool(let flag):
                bytes.append(flag ? 1 : 0)
            default:
                withUnsafeBytes(of: (element.doubleValue ?? .nan).bitPattern.littleEndian) { bytes += $0 }
            }
        }
        return bytes
    }
}
