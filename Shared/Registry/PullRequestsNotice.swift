import Foundation
import Migrations
import Postgres

/// The payload of a NOTIFY on `conveyor_pull_requests` (vcs and the trainer's
/// retrain route wake trainers with it; trainers read only that it came): how
/// many merges a sync fetched and rows it upserted, a pushed open pull
/// request, or a run queued again.
public struct PullRequestsNotice: Codable, Sendable, Equatable {
    public var merged: Int?
    public var upserted: Int?
    public var pushed: Int?
    public var retrain: Int64?

    public init(merged: Int? = nil, upserted: Int? = nil, pushed: Int? = nil, retrain: Int64? = nil) {
        self.merged = merged
        self.upserted = upserted
        self.pushed = pushed
        self.retrain = retrain
    }

    /// The payload's JSON text.
    public var payload: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// Sends it inside the caller's transaction (delivered when it commits).
    public func send(on connection: PostgresConnection) throws {
        try connection.notify(Schema.pullRequestsChannel, payload: payload)
    }

    /// Sends it on its own.
    public func send(on database: PostgresClient) async throws {
        try await database.notify(Schema.pullRequestsChannel, payload: payload)
    }
}
