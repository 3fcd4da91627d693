import Logging
import ServiceLifecycle

/// `SYNC_INTERVAL`: runs the same incremental sync as `GET /checkout`
/// periodically, for setups without webhooks. A failed sync is logged and
/// retried at the next tick (each repository's on its own).
struct PeriodicSync: Service, CustomStringConvertible {
    var description: String { "PeriodicSync" }
    let syncs: RepositorySyncs
    let interval: Duration
    let logger: Logger

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            for outcome in await syncs.syncAll() {
                if case .failure(let error) = outcome.result {
                    logger.error(
                        "periodic sync failed", metadata: ["repository": "\(outcome.repository)", "error": "\(error)"])
                }
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}
