import Synchronization

/// Runs `work` but stops waiting for it after `timeout`, throwing `timeoutError`.
/// Blocking work cannot be interrupted: it finishes in the background and its
/// result is dropped, while the caller moves on (the run is recorded as failed).
func withDeadline<T: Sendable>(
    _ timeout: Duration, timeoutError: any Error & Sendable, _ work: @escaping @Sendable () async throws -> T
) async throws -> T {
    let pending = PendingResult<T>()
    return try await withCheckedThrowingContinuation { continuation in
        pending.set(continuation)
        let timer = Task {
            try await Task.sleep(for: timeout)
            pending.take()?.resume(throwing: timeoutError)
        }
        Task {
            do {
                let value = try await work()
                timer.cancel()
                pending.take()?.resume(returning: value)
            } catch {
                timer.cancel()
                pending.take()?.resume(throwing: error)
            }
        }
    }
}

/// A continuation resumed by whichever of work and timer finishes first.
private final class PendingResult<T: Sendable>: Sendable {
    private let slot = Mutex<CheckedContinuation<T, Error>?>(nil)

    func set(_ continuation: CheckedContinuation<T, Error>) {
        slot.withLock { $0 = continuation }
    }

    func take() -> CheckedContinuation<T, Error>? {
        slot.withLock { $0.take() }
    }
}
