import Foundation
import SwiftProtobuf

extension ONNXTensor {
    /// Decodes a serialized `TensorProto` (as ONNX's test data stores inputs and outputs).
    public init(serializedTensor data: Data) throws {
        let proto: Onnx_TensorProto
        do {
            proto = try Onnx_TensorProto(serializedBytes: data)
        } catch {
            throw ONNXError("tensor: not a valid TensorProto (\(error))")
        }
        try self.init(proto: proto, name: proto.name.isEmpty ? "tensor" : proto.name)
    }

    /// A tensor from its protobuf form: typed fields or little-endian `raw_data`.
    init(proto: Onnx_TensorProto, name: String) throws {
        guard proto.dataLocation != .external else {
            throw ONNXError("\(name): tensors stored in external files are not supported; embed the data")
        }
        let shape = try proto.dims.map { dim -> Int in
            guard dim >= 0, dim < Int64(Int32.max) else { throw ONNXError("\(name): dimension \(dim) is invalid") }
            return Int(dim)
        }
        let count = shape.reduce(1) { $0.multipliedReportingOverflow(by: $1).partialValue }
        guard shape.allSatisfy({ $0 >= 0 }), count <= 1 << 31 else {
            throw ONNXError("\(name): shape \(shape) is too large")
        }
        guard let type = ONNXElementType(rawValue: Int(proto.dataType)) else {
            throw ONNXError(
                "\(name): element type \(ONNXElementType.name(of: Int(proto.dataType))) is not supported")
        }
        let raw = proto.rawData
        func fromRaw<T>(_: T.Type) throws -> [T] {
            guard raw.count == count * MemoryLayout<T>.size else {
                throw ONNXError(
                    "\(name): raw_data has \(raw.count) bytes, \(shape) \(type) needs \(count * MemoryLayout<T>.size)")
            }
            return raw.withUnsafeBytes { bytes in
                (0..<count).map { bytes.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self) }
            }
        }
        let storage: Storage
        switch type {
        case .float: storage = .float(raw.isEmpty ? proto.floatData : try fromRaw(Float.self))
        case .double: storage = .double(raw.isEmpty ? proto.doubleData : try fromRaw(Double.self))
        case .int64: storage = .int64(raw.isEmpty ? proto.int64Data : try fromRaw(Int64.self))
        case .int32: storage = .int32(raw.isEmpty ? proto.int32Data : try fromRaw(Int32.self))
        case .bool:
            storage = .bool(raw.isEmpty ? proto.int32Data.map { $0 != 0 } : try fromRaw(UInt8.self).map { $0 != 0 })
        case .string:
            storage = .string(proto.stringData.map { String(decoding: $0, as: UTF8.self) })
        }
        self.init(shape: shape, storage: storage)
        guard self.count == count else {
            throw ONNXError("\(name): holds \(self.count) elements but its shape \(shape) needs \(count)")
        }
    }
}
