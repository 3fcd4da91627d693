import DurationUnits
import Foundation
import JSON
import Logging
import Migrations
import Postgres
import Registry

/// Runs incremental syncs from GitHub into Postgres: the tap's messages go
/// straight into the target in-process (what `vcs tap | vcs target` does
/// through a pipe). Concurrent requests for a sync share the one running.
public actor PullRequestSync {
    let tap: GitHubPullRequestTap
    let database: PostgresClient
    let loader: SingerPostgresLoader
    let logger: Logger
    private var running: Task<SyncSummary, Error>?

    public init(tap: GitHubPullRequestTap, database: PostgresClient, loader: SingerPostgresLoader, logger: Logger) {
        self.tap = tap
        self.database = database
        self.loader = loader
        self.logger = logger
    }

    /// The `singer_state` row the tap's STATE is kept under.
    public static func stateKey(repository: String) -> String { "tap-github:\(repository)" }

    /// Syncs now, or joins the sync in progress.
    public func sync() async throws -> SyncSummary {
        if let running { return try await running.value }
        let task = Task { try await self.performSync() }
        running = task
        defer { running = nil }
        return try await task.value
    }

    /// The stored STATE value for `key`, if any.
    public static func storedState(_ database: PostgresClient, key: String) async throws -> JSONValue? {
        let rows = try await database.query("SELECT state::text AS state FROM singer_state WHERE tap = \(key)")
        guard let text = try rows.first?.decode("state", as: String.self) else { return nil }
        return try JSONValue.parse(Array(text.utf8))
    }

    private func performSync() async throws -> SyncSummary {
        let started = ContinuousClock.now
        do {
            let summary = try await syncOnce(started: started)
            VCSMetrics.sync(succeeded: true, seconds: summary.durationSeconds)
            VCSMetrics.pages(summary.pages)
            VCSMetrics.succeeded(at: Date(), bookmark: summary.bookmark)
            VCSMetrics.records(
                fetched: summary.recordsFetched, upserted: summary.recordsUpserted, rejected: summary.rejected,
                notModified: summary.notModified)
            return summary
        } catch {
            let elapsed = ContinuousClock.now - started
            VCSMetrics.sync(
                succeeded: false,
                seconds: elapsed.inSeconds)
            throw error
        }
    }

    private func syncOnce(started: ContinuousClock.Instant) async throws -> SyncSummary {
        let key = Self.stateKey(repository: tap.repository)
        let state = try await Self.storedState(database, key: key)
        let target = SingerTarget(
            database: database, loader: loader, stateKey: key, stopsOnAlteredText: false, logger: logger)
        let tapSummary = try await tap.run(state: state) { message in try await target.handle(message) }
        try await target.flush()
        let loaded = target.summary
        // Merges queue runs, and an open PR's new head a preview: the trainer looks at both.
        if loaded.upserted > 0 {
            try await PullRequestsNotice(merged: tapSummary.merged, upserted: loaded.upserted).send(on: database)
        }
        let elapsed = ContinuousClock.now - started
        let summary = SyncSummary(
            pages: tapSummary.pages, notModified: tapSummary.notModified, recordsFetched: tapSummary.records,
            recordsUpserted: loaded.upserted, mergedFetched: tapSummary.merged, rejected: loaded.rejected,
            rejections: loaded.rejections,
            durationSeconds: elapsed.inSeconds,
            bookmark: tapSummary.bookmark)
        logger.info(
            "sync finished",
            metadata: [
                "pages": "\(summary.pages)", "not_modified": "\(summary.notModified)",
                "upserted": "\(summary.recordsUpserted)", "rejected": "\(summary.rejected)",
                "seconds": "\(String(format: "%.3f", summary.durationSeconds))",
            ])
        return summary
    }
}
