import Foundation
import Logging

/// What one sync did, as `GET /checkout` reports it.
public struct SyncSummary: Codable, Sendable {
    public var pages: Int
    public var recordsFetched: Int
    public var recordsUpserted: Int
    public var mergedUpserted: Int
    public var rejected: Int
    public var rejections: [String]
    public var durationSeconds: Double
    public var bookmark: String?

    enum CodingKeys: String, CodingKey {
        case pages
        case recordsFetched = "records_fetched"
        case recordsUpserted = "records_upserted"
        case
            mergedUpserted = "merged_upserted"
        case rejected, rejections
        case durationSeconds = "duration_seconds"
        case bookmark
    }
}

/// Runs incremental syncs from GitHub into Postgres; concurrent requests for a
/// sync share the one already running.
public actor PullRequestSync {
    let tap: GitHubPullRequestTap
    let store: PullRequestStore
    let logger: Logger
    private var running: Task<SyncSummary, Error>?

    public init(tap: GitHubPullRequestTap, store: PullRequestStore, logger: Logger) {
        self.tap = tap
        self.store = store
        self.logger = logger
    }

    /// Syncs now, or joins the sync in progress.
    public func sync() async throws -> SyncSummary {
        if let running { return try await running.value }
        let task = Task { try await self.performSync() }
        running = task
        defer { running = nil }
        return try await task.value
    }

    private func performSync() async throws -> SyncSummary {
        let started = Date()
        let since = try await store.bookmark()
        var summary = SyncSummary(
            pages: 0, recordsFetched: 0, recordsUpserted: 0, mergedUpserted: 0, rejected: 0, rejections: [],
            durationSeconds: 0, bookmark: nil)
        var newest = since
        summary.pages = try await tap.fetch(since: since) { page in
            summary.recordsFetched += page.items.count
            var records: [PullRequestRecord] = []
            for item in page.items {
                do {
                    records.append(try PullRequestRecord(json: item))
                } catch let rejection as PullRequestRecord.Rejection {
                    summary.rejected += 1
                    if summary.rejections.count < 20 { summary.rejections.append(rejection.description) }
                    logger.error("rejected record", metadata: ["stream": "pull_requests", "reason": "\(rejection)"])
                }
            }
            let result = try await store.upsert(records)
            summary.recordsUpserted += result.changed
            summary.mergedUpserted += result.merged
            for record in records {
                if let updated = record.updatedAt, updated > (newest ?? .distantPast) { newest = updated }
            }
        }
        if let newest, newest != since { try await store.saveBookmark(newest) }
        if summary.mergedUpserted > 0 { try await store.notifyMerged(count: summary.mergedUpserted) }
        summary.bookmark = newest.map { ISO8601DateFormatter().string(from: $0) }
        summary.durationSeconds = Date().timeIntervalSince(started)
        logger.info(
            "sync finished",
            metadata: [
                "pages": "\(summary.pages)", "upserted": "\(summary.recordsUpserted)",
                "rejected": "\(summary.rejected)", "seconds": "\(summary.durationSeconds)",
            ])
        return summary
    }
}
