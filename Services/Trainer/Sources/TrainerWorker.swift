import Foundation
import Logging
import Migrations
import Postgres
import ServiceLifecycle

/// Wakes on `vcs`'s NOTIFY (or every poll interval), queues the newest
/// untried merge and runs queued runs one at a time until none is left.
public struct TrainerWorker: Service, CustomStringConvertible {
    /// A plain name for lifecycle logs (the default would print the database URL).
    public var description: String { "TrainerWorker" }

    let databaseURL: String
    let store: TrainingStore
    let executor: RunExecutor
    let pollInterval: Double
    let logger: Logger

    public func run() async throws {
        let listener = PostgresListener(url: databaseURL, channels: [Schema.pullRequestsChannel], logger: logger)
        let (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        listener.start()
        wake.yield()  // catch up on anything merged while we were down
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await event in listener.events {
                    if case .notification = event { logger.debug("woken by NOTIFY") }
                    wake.yield()  // `.connected` too: we may have missed notifications
                }
            }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(pollInterval))
                    wake.yield()
                }
            }
            group.addTask {
                await cancelWhenGracefulShutdown {
                    for await _ in wakes {
                        if Task.isCancelled { break }
                        await drainQueue()
                    }
                }
                await listener.stop()
                wake.finish()
            }
            await group.next()
            group.cancelAll()
        }
        logger.info("trainer worker stopped")
    }

    /// Queues and trains until there is nothing left; errors are logged and
    /// retried on the next wake-up.
    private func drainQueue() async {
        do {
            while true {
                try await store.queueNewestMerge()
                guard let run = try await store.claimQueuedRun() else { return }
                // Let a started run finish even during shutdown: its result is recorded.
                await Task { await executor.execute(run) }.value
                if Task.isCancelled { return }
            }
        } catch {
            logger.warning("checking for new merges failed", metadata: ["error": "\(error)"])
        }
    }
}
