import Foundation
import Logging
import Migrations
import Postgres
import ServiceKit
import ServiceLifecycle

/// Wakes on `vcs`'s NOTIFY (or every poll interval), queues the newest
/// untried merge and runs queued runs one at a time until none is left.
public struct TrainerWorker: Service, CustomStringConvertible {
    /// A plain name for lifecycle logs (the default would print the database URL).
    public var description: String { "TrainerWorker" }

    let database: PostgresClient
    let store: TrainingStore
    /// Refreshed after each queueing and run, besides its own interval.
    let statusGauges: TrainerStatusGauges
    let executor: RunExecutor
    let pollInterval: Duration
    let logger: Logger

    public func run() async throws {
        await removeStaleRunDirectories()
        await WakeLoop.run(
            database: database, channel: Schema.pullRequestsChannel, pollInterval: pollInterval, logger: logger
        ) { await drainQueue() }
        logger.info("trainer worker stopped")
    }

    /// Removes run checkouts left by a trainer that died mid-run: those of runs
    /// that are not running under a live lease now.
    func removeStaleRunDirectories() async {
        do {
            let active = try await store.activeRunIDs()
            let removed = RunDirectories.removeStale(in: executor.workDirectory, active: active)
            if !removed.isEmpty { logger.info("removed stale run directories", metadata: ["removed": "\(removed)"]) }
        } catch {
            logger.warning("could not check for stale run directories", metadata: ["error": "\(error)"])
        }
    }

    /// Queues and trains until there is nothing left; errors are logged and
    /// retried on the next wake-up.
    private func drainQueue() async {
        do {
            while true {
                let queueing = try await store.queueNewestMerge()
                if !queueing.futureDated.isEmpty {
                    logger.warning(
                        "ignoring merges dated in the future", metadata: ["pull_requests": "\(queueing.futureDated)"])
                }
                try? await statusGauges.refresh()
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
