import Foundation

/// `SANDBOX=bubblewrap` was asked for and cannot be had, or the setting is wrong.
public struct SandboxUnavailable: Error, CustomStringConvertible {
    public let reason: String
    public var description: String { "SANDBOX: \(reason)" }
}
