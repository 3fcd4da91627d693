import DurationUnits
import Foundation
import Synchronization

/// Cancels blocking work for real: child processes started under the token
/// (each in its own process group) get SIGTERM, then SIGKILL after a grace
/// period, and loops that poll `isCancelled` stop. Bridges Swift task
/// cancellation to work that runs on plain threads (git, training).
public final class CancellationToken: Sendable {
    private struct State {
        var cancelled = false
        var groups: Set<pid_t> = []
    }

    private let state = Mutex(State())
    /// How long a process group has to exit after SIGTERM before SIGKILL.
    public let grace: Duration

    public init(grace: Duration = .seconds(2)) {
        self.grace = grace
    }

    /// Whether `cancel()` was called.
    public var isCancelled: Bool { state.withLock { $0.cancelled } }

    /// Cancels: SIGTERM to every registered process group now, SIGKILL to those
    /// still registered after the grace period.
    public func cancel() {
        // Signals are sent under the lock: a registered group is not reaped yet (its owner
        // unregisters it first), so its id is still its own (see `ChildExit`).
        let groups = state.withLock { state -> Set<pid_t> in
            state.cancelled = true
            for group in state.groups { kill(-group, SIGTERM) }
            return state.groups
        }
        guard !groups.isEmpty else { return }
        let grace = grace
        Thread.detachNewThread { [self] in
            Thread.sleep(forTimeInterval: grace.inSeconds)
            state.withLock { state in for group in state.groups { kill(-group, SIGKILL) } }
        }
    }

    /// Registers a process group; false (and nothing registered) when already cancelled.
    func register(_ group: pid_t) -> Bool {
        state.withLock { state in
            if state.cancelled { return false }
            state.groups.insert(group)
            return true
        }
    }

    func unregister(_ group: pid_t) {
        _ = state.withLock { $0.groups.remove(group) }
    }
}

/// Runs `body` with a token that the current task's cancellation cancels.
public func withCancellationToken<T>(
    grace: Duration = .seconds(2), _ body: (CancellationToken) async throws -> T
) async throws -> T {
    let token = CancellationToken(grace: grace)
    return try await withTaskCancellationHandler {
        try await body(token)
    } onCancel: {
        token.cancel()
    }
}
