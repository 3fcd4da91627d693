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

    /// Upserts a batch in one transaction; returns how many rows changed.
    @discardableResult
    public func upsert(_ records: [PullRequestRecord], receivedAt: Date = Date()) async throws -> Int {
        guard !records.isEmpty else { return 0 }
        let columns = PullRequestRecord.recordColumns + [
            "_sdc_received_at", "_sdc_sequence", "_sdc_batched_at", "_sdc_table_version",
        ]
        let quoted = columns.map(PostgresQuery.quoteIdentifier)
        let placeholders = (1...columns.count).map { "$\($0)" }.joined(separator: ", ")
        let updates = quoted.dropFirst().map { "\($0) = EXCLUDED.\($0)" }.joined(separator: ", ")
        let sql = """
            INSERT INTO pull_requests (\(quoted.joined(separator: ", "))) VALUES (\(placeholders))
            ON CONFLICT (id) DO UPDATE SET \(updates)
            WHERE pull_requests._sdc_sequence IS NULL OR pull_requests._sdc_sequence <= EXCLUDED._sdc_sequence
            """
        let received = receivedAt.postgresText
        let sequence = String(Int64(receivedAt.timeIntervalSince1970 * 1_000_000))
        let batched = Date().postgresText
        return try await database.transaction { connection in
            var changed = 0
            for record in records {
                let parameters = record.values + [received, sequence, batched, nil]
                changed += try connection.query(PostgresQuery(unsafeSQL: sql, parameters: parameters)).affectedRows
            }
            return changed
        }
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
