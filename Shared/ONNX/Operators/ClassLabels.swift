import Foundation

/// A classifier's labels: int64 or string, from `classlabels_*`.
struct ClassLabels: Sendable {
    let ints: [Int64]?
    let strings: [String]?

    init(_ spec: NodeSpec) throws {
        ints = spec.int64s("classlabels_int64s").flatMap { $0.isEmpty ? nil : $0 }
        strings = spec.strings("classlabels_strings").flatMap { $0.isEmpty ? nil : $0 }
        guard (ints == nil) != (strings == nil) else {
            throw spec.error("exactly one of classlabels_int64s and classlabels_strings is required")
        }
    }

    var count: Int { ints?.count ?? strings?.count ?? 0 }
    var elementType: ONNXElementType { ints != nil ? .int64 : .string }

    func tensor(_ picked: [Int]) -> ONNXTensor {
        if let ints { return ONNXTensor(int64s: picked.map { ints[$0] }, shape: [picked.count]) }
        return ONNXTensor(strings: picked.map { strings![$0] }, shape: [picked.count])
    }
}
