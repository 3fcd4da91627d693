import Foundation

/// What loading knows of a graph value before any data flows.
enum ValueType: Sendable, Equatable {
    /// A tensor of this element type; `shape` has nil for dimensions known only at run time.
    case tensor(ONNXElementType, shape: [Int?]?)
    /// ZipMap's sequence of maps.
    case maps

    var element: ONNXElementType? {
        if case .tensor(let element, _) = self { return element }
        return nil
    }

    var shape: [Int?]? {
        if case .tensor(_, let shape) = self { return shape }
        return nil
    }

    static func tensor(_ element: ONNXElementType) -> ValueType { .tensor(element, shape: nil) }
}
