import Foundation
import Migrations
import Postgres

/// Writes pull request records into `pull_requests` in the target-postgres
/// layout (upsert on `id`, the newest `_sdc_sequence` wins) and keeps the
/// Singer state (bookmarks) in `singer_state`.
public struct PullRequestStore: Sendable {
    let database: PostgresClient
    let repository: String

    public init(database: PostgresClient, repository: String) {
        self.database = database
        self.repository = repository
    }

    var tapName: String { "tap-github:\(repository)" }

    /// What an upsert changed: records inserted or updated, and how many of those are merged.
    public struct UpsertResult: Sendable {
        public var changed = 0
        public var merged = 0
    }

    /// Upserts a batch in one transaction. A record identical to the stored
    /// one (the inclusive bookmark re-reads the boundary) changes nothing.
    @discardableResult
    public func upsert(_ records: [PullRequestRecord], receivedAt: Date = Date()) async throws -> UpsertResult {
        guard !records.isEmpty else { return UpsertResult() }
        return try await database.transaction { connection in
            try Self.upsert(records, receivedAt: receivedAt, on: connection)
        }
    }

    static let upsertSQL: String = {
        let columns =
            PullRequestRecord.recordColumns + [
                "_sdc_received_at", "_sdc_sequence", "_sdc_batched_at", "_sdc_table_version",
            ]
        let quoted = columns.map(PostgresQuery.quoteIdentifier)
        let placeholders = (1...columns.count).map { "$\($0)" }.joined(separator: ", ")
        let updates = quoted.dropFirst().map { "\($0) = EXCLUDED.\($0)" }.joined(separator: ", ")
        let recordColumns = PullRequestRecord.recordColumns.map(PostgresQuery.quoteIdentifier)
        let stored = recordColumns.map { "pull_requests.\($0)" }.joined(separator: ", ")
        let incoming = recordColumns.map { "EXCLUDED.\($0)" }.joined(separator: ", ")
        return """
            INSERT INTO pull_requests (\(quoted.joined(separator: ", "))) VALUES (\(placeholders))
            ON CONFLICT (id) DO UPDATE SET \(updates)
            WHERE (pull_requests._sdc_sequence IS NULL OR pull_requests._sdc_sequence <= EXCLUDED._sdc_sequence)
              AND (\(stored)) IS DISTINCT FROM (\(incoming))
            RETURNING merged_at IS NOT NULL AS merged
            """
    }()

    /// Upserts on a connection the caller holds (inside its transaction).
    @discardableResult
    static func upsert(
        _ records: [PullRequestRecord], receivedAt: Date, on connection: PostgresConnection
    ) throws -> UpsertResult {
        let received = receivedAt.postgresText
        let sequence = String(Int64(receivedAt.timeIntervalSince1970 * 1_000_000))
        let batched = Date().postgresText
        var result = UpsertResult()
        for record in records {
            let parameters = record.values + [received, sequence, batched, nil]
            if let row = try connection.query(PostgresQuery(unsafeSQL: upsertSQL, parameters: parameters)).first {
                result.changed += 1
                if try row.decode("merged", as: Bool.self) { result.merged += 1 }
            }
        }
        return result
    }

    /// The `updated_at` bookmark of the last completed sync.
    public func bookmark() async throws -> Date? {
        let rows = try await database.query(
            "SELECT state #>> ARRAY['bookmarks', \(repository), 'pull_requests', 'since'] AS since FROM singer_state WHERE tap = \(tapName)"
        )
        return try rows.first?.decodeIfPresent("since", as: String.self).flatMap(PullRequestRecord.parseDate)
    }

    /// Stores the Singer STATE message's value for this tap.
    public func saveBookmark(_ since: Date) async throws {
        let text = ISO8601DateFormatter().string(from: since)
        let state = try PostgresJSON(encoding: ["bookmarks": [repository: ["pull_requests": ["since": text]]]])
        try await database.query(
            """
            INSERT INTO singer_state (tap, state, updated_at) VALUES (\(tapName), \(state)::jsonb, now())
            ON CONFLICT (tap) DO UPDATE SET state = EXCLUDED.state, updated_at = now()
            """)
    }

    /// Tells trainers that merged pull requests were stored.
    public func notifyMerged(count: Int) async throws {
        try await database.notify(Schema.pullRequestsChannel, payload: "{\"merged\": \(count)}")
    }
}
