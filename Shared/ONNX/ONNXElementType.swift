import Foundation

/// The tensor element types Conveyor evaluates (ONNX `TensorProto.DataType` numbers).
public enum ONNXElementType: Int, Sendable, CustomStringConvertible {
    case float = 1
    case int32 = 6
    case int64 = 7
    case string = 8
    case bool = 9
    case double = 11

    public var description: String {
        switch self {
        case .float: "float"
        case .int32: "int32"
        case .int64: "int64"
        case .string: "string"
        case .bool: "bool"
        case .double: "double"
        }
    }

    /// The name ONNX gives an element type number, for messages about the ones not supported.
    static func name(of number: Int) -> String {
        let names = [
            2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 10: "float16", 12: "uint32", 13: "uint64",
            14: "complex64", 15: "complex128", 16: "bfloat16", 17: "float8e4m3fn", 18: "float8e4m3fnuz",
            19: "float8e5m2", 20: "float8e5m2fnuz", 21: "uint4", 22: "int4", 23: "float4e2m1", 24: "float8e8m0",
            25: "uint2", 26: "int2",
        ]
        return ONNXElementType(rawValue: number)?.description ?? names[number] ?? "type \(number)"
    }
}
