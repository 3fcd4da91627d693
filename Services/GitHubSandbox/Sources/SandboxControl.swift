import Foundation
import Synchronization

/// The sandbox's switchable state: queued faults, a primary rate limit and
/// request counts. Shared by the route handlers.
public final class SandboxControl: Sendable {
    struct State {
        var skip = 0
        var faults: [SandboxFault] = []
        var limit: Int?
        var window: Double = 60
        var remaining = 0
        var resetAt: Double = 0
        var requests = 0
        var notModified = 0
        var rateLimited = 0
        var faulted = 0
        var delaying = 0
    }
    private let state = Mutex(State())

    public init() {}

    /// Queues `faults` for the requests after the next `after` ones.
    func queue(_ faults: [SandboxFault], after: Int) {
        state.withLock {
            $0.skip = after
            $0.faults += faults
        }
    }

    /// Turns the primary rate limit on (`limit` requests per `window` seconds) or off (nil).
    func setRateLimit(_ limit: Int?, window: Double) {
        state.withLock {
            $0.limit = limit
            $0.window = window
            $0.remaining = limit ?? 0
            $0.resetAt = Date().timeIntervalSince1970 + window
        }
    }

    /// The fault for this request, if one is due.
    func nextFault() -> SandboxFault? {
        state.withLock { state in
            state.requests += 1
            if state.skip > 0 {
                state.skip -= 1
                return nil
            }
            guard !state.faults.isEmpty else { return nil }
            state.faulted += 1
            return state.faults.removeFirst()
        }
    }

    /// The rate-limit headers for a request, and whether it is refused;
    /// `consume` is false for a 304 (conditional requests are free on GitHub).
    func rateLimit(consume: Bool) -> (headers: [(String, String)], exceeded: Bool) {
        state.withLock { state in
            let now = Date().timeIntervalSince1970
            guard let limit = state.limit else {
                return ([("X-RateLimit-Limit", "5000"), ("X-RateLimit-Remaining", "4999")], false)
            }
            if now >= state.resetAt {
                state.remaining = limit
                state.resetAt = now + state.window
            }
            var exceeded = false
            if consume {
                if state.remaining > 0 {
                    state.remaining -= 1
                } else {
                    exceeded = true
                    state.rateLimited += 1
                }
            }
            return (
                [
                    ("X-RateLimit-Limit", String(limit)), ("X-RateLimit-Remaining", String(state.remaining)),
                    ("X-RateLimit-Reset", String(Int(state.resetAt.rounded(.up)))), ("X-RateLimit-Resource", "core"),
                ], exceeded
            )
        }
    }

    /// Holds a finished page back for `milliseconds`; while it waits,
    /// `counts["delaying"]` says so, so a test can change the sandbox
    /// mid-request without guessing how long the request takes to arrive.
    func delay(milliseconds: Int) async throws {
        state.withLock { $0.delaying += 1 }
        defer { state.withLock { $0.delaying -= 1 } }
        try await Task.sleep(for: .milliseconds(milliseconds))
    }

    func countNotModified() { state.withLock { $0.notModified += 1 } }

    /// Counts for tests: requests, 304s, rate-limited refusals, faults served,
    /// slow answers waiting now.
    var counts: [String: Int] {
        state.withLock {
            [
                "requests": $0.requests, "not_modified": $0.notModified, "rate_limited": $0.rateLimited,
                "faulted": $0.faulted, "faults_queued": $0.faults.count, "delaying": $0.delaying,
            ]
        }
    }

    func reset() { state.withLock { $0 = State() } }
}
