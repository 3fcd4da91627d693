import Foundation

/// A model that cannot be loaded or run; the message names the node, input or attribute.
public struct ONNXError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
