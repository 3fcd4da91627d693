/// Runs `work` against a timer in a task group: whichever finishes first wins
/// and the other is cancelled. When the timer wins, `timeoutError` is thrown
/// once `work` has stopped — its cancellation is real (child processes are
/// killed, training loops stop between trees), so the wait is short.
func withDeadline<T: Sendable>(
    _ timeout: Duration, timeoutError: any Error & Sendable, _ work: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await work() }
        group.addTask {
            try await Task.sleep(for: timeout)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else { throw timeoutError }
        return value
    }
}
