import Foundation
import Logging
import Migrations
import Postgres
import Registry
import Testing
import TrainerService

@Suite("trainer: which merge is queued")
struct MergeQueueTests {
    static func store() async throws -> (PostgresClient, TrainingStore) {
        let database = PostgresClient(url: try await TestPostgres.freshDatabase(), maxConnections: 2)
        try await Migrator().migrate(database, logger: Logger(label: "test"))
        return (
            database,
            TrainingStore(
                database: database, repositories: [TrackedRepository(repository: nil, url: "unused", branch: "main")])
        )
    }

    static func merge(_ database: PostgresClient, number: Int64, sha: String, mergedAt: String) async throws {
        try await database.query(
            """
            INSERT INTO pull_requests (id, number, base__ref, merged_at, merge_commit_sha)
            VALUES (\(number), \(number), 'main', \(mergedAt)::timestamptz, \(sha))
            """)
    }

    @Test("a merge dated in the future is ignored, and a tried merge does not stop a later real one")
    func futureDatedAndTriedMerges() async throws {
        let (database, store) = try await Self.store()
        try await Self.merge(database, number: 1, sha: "aaaaaaa1", mergedAt: "2099-01-01T00:00:00Z")
        try await Self.merge(database, number: 2, sha: "bbbbbbb2", mergedAt: "2026-01-01T00:00:00Z")
        let first = try await store.queueNewestMerge()
        #expect(first.queued == 2, "the real merge, not the one dated 2099")
        #expect(first.futureDated == [1])
        try await database.query("UPDATE training_runs SET status = \(RunStatus.failed), reason = 'clone failed'")

        try await Self.merge(database, number: 3, sha: "ccccccc3", mergedAt: "2026-01-03T00:00:00Z")
        try await Self.merge(database, number: 4, sha: "ddddddd4", mergedAt: "2026-01-04T00:00:00Z")
        #expect(try await store.queueNewestMerge().queued == 4)
        try await database.query("UPDATE training_runs SET status = \(RunStatus.failed) WHERE pr_number = 4")
        #expect(try await store.queueNewestMerge().queued == 3, "the newest untried merge")
        #expect(try await store.queueNewestMerge().queued == nil, "nothing left untried")
        await database.shutdown()
    }
}
