import Foundation

/// Keys compared as text, so one dictionary serves every key type.
enum LabelKey {
    static func texts(_ storage: ONNXTensor.Storage) -> [String] {
        switch storage {
        case .string(let v): v
        case .int64(let v): v.map { String($0) }
        case .int32(let v): v.map { String($0) }
        case .float(let v): v.map { "\($0.isNaN ? Float.nan : $0)" }
        case .double(let v): v.map { "\(Float($0))" }
        case .bool(let v): v.map { $0 ? "1" : "0" }
        }
    }
}
