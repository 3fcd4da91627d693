import Foundation
import Logging
import Migrations
import Postgres
import Registry
import ServiceKit
import ServiceLifecycle

/// Wakes on `vcs`'s NOTIFY (or every poll interval), queues each followed
/// repository's newest untried merge and a preview of each open pull request's
/// new head, and runs queued runs in lanes side by side (`RunLane`): each
/// repository's merges and retrains one at a time in its own lane (a model's
/// long training never holds up another model's merge), and previews of every
/// repository one at a time in one more.
public struct TrainerWorker: Service, CustomStringConvertible {
    /// A plain name for lifecycle logs (the default would print the database URL).
    public var description: String { "TrainerWorker" }

    let database: PostgresClient
    let store: TrainingStore
    /// Refreshed after each queueing and run, besides its own interval.
    let statusGauges: TrainerStatusGauges
    let executor: RunExecutor
    let pollInterval: Duration
    /// Which open pull requests are previewed (nil: none).
    let previews: PreviewSettings?
    let logger: Logger

    /// `PREVIEW_FORKS` (a PR whose head is not its repository's own is a fork's).
    public struct PreviewSettings: Sendable {
        let forks: Bool
    }

    public func run() async throws {
        await removeStaleRunDirectories()
        await removeAbandonedUploads()
        await withTaskGroup(of: Void.self) { group in
            // Each lane drains its own queue (see `RunLane`): a merge never waits behind a preview,
            // nor behind another repository's merge.
            let lanes: [(RunLane, TrackedRepository?)] =
                store.repositories.map { (.deployments, $0) } + (previews == nil ? [] : [(.previews, nil)])
            for (lane, repository) in lanes {
                group.addTask {
                    await WakeLoop.run(
                        database: database, channel: Schema.pullRequestsChannel, pollInterval: pollInterval,
                        logger: logger
                    ) { await drainQueue(lane, repository: repository) }
                }
            }
            // A push lands while both lanes train: its preview is queued (and the PR's running one
            // superseded) at once, not after the runs.
            if previews != nil {
                group.addTask {
                    await WakeLoop.run(
                        database: database, channel: Schema.pullRequestsChannel, pollInterval: pollInterval,
                        logger: logger
                    ) {
                        do {
                            try await queuePreviews()
                        } catch {
                            logger.warning("queueing previews failed", metadata: ["error": "\(error)"])
                        }
                    }
                }
            }
        }
        logger.info("trainer worker stopped")
    }

    /// Queues previews of open pull requests' new heads (superseding their older ones).
    private func queuePreviews() async throws {
        guard let previews else { return }
        for repository in store.repositories {
            let queued = try await store.queuePreviews(repository, previewForks: previews.forks)
            let named: Logger.Metadata = ["repository": "\(repository.key)"]
            if !queued.queued.isEmpty {
                logger.info("queued previews", metadata: named.merging(["prs": "\(queued.queued)"]) { $1 })
            }
            if !queued.skippedForks.isEmpty {
                logger.debug(
                    "not previewing pull requests from forks (PREVIEW_FORKS is off)",
                    metadata: named.merging(["prs": "\(queued.skippedForks)"]) { $1 })
            }
        }
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

    /// Deletes versions an object store holds without their completion record (a trainer
    /// killed mid-upload), except those of runs that are running now under a live lease.
    func removeAbandonedUploads() async {
        guard executor.artifacts.isRemote else { return }
        do {
            let active = try await store.activeRunIDs()
            let removed = try await executor.artifacts.removeIncomplete { path in
                RunDirectories.runID(ofVersion: path.split(separator: "/").last.map(String.init) ?? "")
                    .map(active.contains) ?? false
            }
            if !removed.isEmpty { logger.info("removed abandoned uploads", metadata: ["versions": "\(removed)"]) }
        } catch {
            logger.warning("could not check the artifact store for abandoned uploads", metadata: ["error": "\(error)"])
        }
    }

    /// Queues and trains `lane`'s runs (of `repository`, for a deployments lane) until there is
    /// nothing left; errors are logged and retried on the next wake-up.
    private func drainQueue(_ lane: RunLane, repository: TrackedRepository?) async {
        do {
            while true {
                if lane == .deployments, let repository {
                    let queueing = try await store.queueNewestMerge(repository)
                    if !queueing.futureDated.isEmpty {
                        logger.warning(
                            "ignoring merges dated in the future",
                            metadata: [
                                "repository": "\(repository.key)", "pull_requests": "\(queueing.futureDated)",
                            ])
                    }
                }
                // Also here, not only in the previews' own loop: queueing sends no NOTIFY, so a
                // preview that loop queued just after a claim would otherwise wait for the poll.
                try await queuePreviews()
                try? await statusGauges.refresh()
                guard let run = try await store.claimQueuedRun(lane: lane, repository: repository) else { return }
                // Let a started run finish even during shutdown: its result is recorded.
                await Task { await executor.execute(run) }.value
                if Task.isCancelled { return }
            }
        } catch {
            logger.warning("checking for queued runs failed", metadata: ["lane": "\(lane)", "error": "\(error)"])
        }
    }
}
