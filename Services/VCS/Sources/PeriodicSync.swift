import Logging
import ServiceLifecycle

/// `SYNC_INTERVAL`: runs the same incremental sync as `GET /checkout`
/// periodically, for setups without webhooks. A failed sync is logged and
/// retried at the next tick.
struct PeriodicSync: Service, CustomStringConvertible {
    var description: String { "PeriodicSync" }
    let sync: PullRequestSync
    let interval: Duration
    let logger: Logger

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                _ = try await sync.sync()
            } catch {
                logger.error("periodic sync failed", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}
