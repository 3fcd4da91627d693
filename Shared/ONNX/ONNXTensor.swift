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

/// A dense tensor: row-major elements and a shape.
public struct ONNXTensor: Sendable, Equatable {
    /// The elements, by type.
    public enum Storage: Sendable, Equatable {
        case float([Float])
        case double([Double])
        case int64([Int64])
        case int32([Int32])
        case bool([Bool])
        case string([String])
    }

    public var shape: [Int]
    public var storage: Storage

    public init(shape: [Int], storage: Storage) {
        self.shape = shape
        self.storage = storage
    }

    public init(floats: [Float], shape: [Int]) { self.init(shape: shape, storage: .float(floats)) }
    public init(doubles: [Double], shape: [Int]) { self.init(shape: shape, storage: .double(doubles)) }
    public init(int64s: [Int64], shape: [Int]) { self.init(shape: shape, storage: .int64(int64s)) }
    public init(strings: [String], shape: [Int]) { self.init(shape: shape, storage: .string(strings)) }
    public init(bools: [Bool], shape: [Int]) { self.init(shape: shape, storage: .bool(bools)) }

    public var elementType: ONNXElementType {
        switch storage {
        case .float: .float
        case .double: .double
        case .int64: .int64
        case .int32: .int32
        case .bool: .bool
        case .string: .string
        }
    }

    /// Number of elements.
    public var count: Int {
        switch storage {
        case .float(let v): v.count
        case .double(let v): v.count
        case .int64(let v): v.count
        case .int32(let v): v.count
        case .bool(let v): v.count
        case .string(let v): v.count
        }
    }

    /// The elements as doubles (strings become NaN, booleans 0 or 1).
    public var doubles: [Double] {
        switch storage {
        case .float(let v): v.map(Double.init)
        case .double(let v): v
        case .int64(let v): v.map(Double.init)
        case .int32(let v): v.map(Double.init)
        case .bool(let v): v.map { $0 ? 1 : 0 }
        case .string(let v): v.map { Double($0) ?? .nan }
        }
    }

    /// The elements as int64 (for shapes, axes and indices).
    var int64s: [Int64]? {
        switch storage {
        case .int64(let v): v
        case .int32(let v): v.map(Int64.init)
        default: nil
        }
    }
}

/// A value flowing through a graph: a tensor, or the sequence of maps ZipMap makes.
public enum ONNXValue: Sendable, Equatable {
    case tensor(ONNXTensor)
    /// One map per row from class label to probability (ZipMap's output).
    case maps(labels: ONNXTensor.Storage, probabilities: [[Float]])

    public var tensor: ONNXTensor? {
        if case .tensor(let tensor) = self { return tensor }
        return nil
    }
}

/// A model that cannot be loaded or run; the message names the node, input or attribute.
public struct ONNXError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
