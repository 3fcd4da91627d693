import Foundation

/// Why bytes are not JSON, with the byte offset where parsing stopped.
public struct JSONParseError: Error, CustomStringConvertible, Equatable {
    public let offset: Int
    public let problem: String
    public var description: String { "\(problem) at byte \(offset)" }
}
