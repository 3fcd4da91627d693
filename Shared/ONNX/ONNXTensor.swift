import Foundation

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
