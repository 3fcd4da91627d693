import Foundation

/// A child process that exited non-zero.
public struct CommandError: Error, CustomStringConvertible {
    public let command: String
    public let status: Int32
    public let stderr: String
    public var description: String {
        "\(command) exited with \(status): \(stderr.trimmingCharacters(in: .whitespacesAndNewlines).suffix(2000))"
    }
}
