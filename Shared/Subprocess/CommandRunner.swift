import Foundation

/// Runs child processes (git) without blocking the caller's executor: the
/// wait happens on a `BlockingWork` thread.
public enum CommandRunner {
    /// Runs `arguments[0]` (looked up on PATH) and returns its output;
    /// throws `CommandError` when it exits non-zero. Cancelling the task kills
    /// the child's process group (TERM, then KILL) and throws `CancellationError`.
    @discardableResult
    public static func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> CommandResult {
        let result = try await output(arguments, environment: environment)
        guard result.status == 0 else {
            throw CommandError(command: arguments.joined(separator: " "), status: result.status, stderr: result.stderr)
        }
        return result
    }

    /// Runs `arguments[0]` like `run`, but returns a non-zero exit status
    /// instead of throwing it.
    public static func output(_ arguments: [String], environment: [String: String] = [:]) async throws -> CommandResult
    {
        try await withCancellationToken { token in
            try await BlockingWork.run {
                try ChildProcess.run(arguments, environment: environment, cancellation: token)
            }
        }
    }
}
