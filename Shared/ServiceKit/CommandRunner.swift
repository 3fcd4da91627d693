import Foundation
import NIOPosix

/// The output of a finished child process.
public struct CommandResult: Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String
}

/// A child process that exited non-zero.
public struct CommandError: Error, CustomStringConvertible {
    public let command: String
    public let status: Int32
    public let stderr: String
    public var description: String {
        "\(command) exited with \(status): \(stderr.trimmingCharacters(in: .whitespacesAndNewlines).suffix(2000))"
    }
}

/// Runs child processes (git) without blocking the caller's executor: the
/// wait happens on NIO's blocking-work thread pool.
public enum CommandRunner {
    /// Runs `arguments[0]` (looked up on PATH) and returns its output.
    /// `redacting` strings are replaced by `***` in errors.
    @discardableResult
    public static func run(
        _ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:],
        redacting secrets: [String] = [], check: Bool = true
    ) async throws -> CommandResult {
        let result = try await NIOThreadPool.singleton.runIfActive {
            try runBlocking(arguments, in: directory, environment: environment)
        }
        guard !check || result.status == 0 else {
            throw CommandError(
                command: redact(arguments.joined(separator: " "), secrets),
                status: result.status, stderr: redact(result.stderr, secrets))
        }
        return result
    }

    private static func redact(_ text: String, _ secrets: [String]) -> String {
        secrets.filter { !$0.isEmpty }.reduce(text) { $0.replacingOccurrences(of: $1, with: "***") }
    }

    private static func runBlocking(
        _ arguments: [String], in directory: URL?, environment: [String: String]
    ) throws -> CommandResult {
        try ChildProcess.run(arguments, in: directory, environment: environment)
    }
}
