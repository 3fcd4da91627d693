import Foundation
import SwiftProtobuf

/// A graph input or output as the model declares it.
public struct ONNXValueInfo: Sendable, Equatable {
    public let name: String
    /// nil for ZipMap's sequence of maps.
    public let elementType: ONNXElementType?
    /// Dimensions; nil where symbolic (e.g. the batch size), nil altogether when not declared.
    public let shape: [Int?]?
}
