import Foundation
import JSON
import Postgres
import Subprocess
import Testing

/// singer-io's real `tap-github` (PyPI, its own venv: `CONVEYOR_TAP_GITHUB`),
/// run against a loopback stand-in for GitHub (Tests/Fixtures/tap_github_standin.py),
/// writes its pull_requests stream with the child streams reviews,
/// review_comments and pr_commits in its own shipped schemas (`_sdc_repository`
/// non-null, `id` nullable, 677 columns once flattened). `vcs target` loads it
/// into a database Conveyor migrated, datamill's loader into an empty one, and
/// the tables must be equal: columns, table comments, upsert indexes and rows.
@Suite("Singer: tap-github's own streams through vcs target and datamill", .serialized)
struct SingerTapGitHubTests {
    static let environment = ProcessInfo.processInfo.environment
    /// Runs where tap-github is installed, and always in CI, where its absence is a failure.
    static let enabled = environment["CONVEYOR_TAP_GITHUB"] != nil || environment["CI"] == "true"
    static let streams = ["pull\\_requests%", "reviews%", "review\\_comments%", "pr\\_commits%"]

    @Test(
        "a real tap-github stream with child streams loads into vcs target and into datamill with equal tables",
        .enabled(if: enabled, "needs CONVEYOR_TAP_GITHUB (deploy/local.sh test installs tap-github)"))
    func tapGitHubThroughBothLoaders() async throws {
        let tap = try #require(
            Self.environment["CONVEYOR_TAP_GITHUB"],
            "CONVEYOR_TAP_GITHUB must name tap-github's executable (deploy/local.sh test installs it)")
        let datamill = try #require(
            Self.environment["CONVEYOR_SINGER_TARGET_POSTGRES"],
            "CONVEYOR_SINGER_TARGET_POSTGRES must name datamill's target-postgres (deploy/local.sh test installs it)")
        let python = URL(fileURLWithPath: tap).deletingLastPathComponent().appendingPathComponent("python").path
        let fixture = Trio.repositoryRoot.appendingPathComponent("Tests/Fixtures/tap_github_standin.py").path
        let tapped = try await CommandRunner.output([python, fixture, tap, "40"])
        #expect(tapped.status == 0, "tap-github failed:\n\(tapped.stderr.suffix(4000))")
        var records: [String: Int] = [:]
        for line in tapped.stdout.split(separator: "\n") {
            let message = try JSONValue.parse(Array(line.utf8))
            if message["type"] == "RECORD", let stream = message["stream"]?.stringValue {
                records[stream, default: 0] += 1
            }
        }
        #expect(records == ["pull_requests": 40, "reviews": 80, "review_comments": 120, "pr_commits": 80])

        let vcsURL = try await TestPostgres.freshDatabase()
        let datamillURL = try await TestPostgres.freshDatabase()
        try await SingerDatamillTests.vcsTarget(url: vcsURL, stream: tapped.stdout)
        try await SingerDatamillTests.datamill(datamill, url: datamillURL, stream: tapped.stdout)
        // `_sdc_received_at` is time_extracted in both, cut to 100 µs by datamill (compared below).
        let excluding = SingerDatamillTests.perLoad + ["_sdc_received_at"]
        let vcs = try await SingerDatamillTests.snapshot(vcsURL, tables: Self.streams, excluding: excluding)
        let theirs = try await SingerDatamillTests.snapshot(datamillURL, tables: Self.streams, excluding: excluding)
        #expect(theirs.columns.count > 1000, "\(theirs.columns.count) columns")
        // Migration 1 made pull_requests' first columns, so positions differ there; names and types may not.
        #expect(Self.unordered(vcs.columns) == Self.unordered(theirs.columns))
        #expect(try Self.comments(vcs) == Self.comments(theirs))
        #expect(vcs.indexes.filter { $0.hasPrefix("tp_") } == theirs.indexes.filter { $0.hasPrefix("tp_") })
        #expect(vcs.rows == theirs.rows)
        #expect(vcs.rows.count > 500, "\(vcs.rows.count) rows")
        for url in [vcsURL, datamillURL] {
            #expect(try await Self.loaded(url) == [40, 80, 120, 80], "every record, with its _sdc_repository")
        }
    }

    /// Column lines without their position, sorted.
    static func unordered(_ columns: [String]) -> [String] {
        columns.map { $0.split(separator: "|", omittingEmptySubsequences: false).dropLast().joined(separator: "|") }
            .sorted()
    }

    /// Each table's comment as JSON, whatever the order of its mappings.
    static func comments(_ snapshot: SingerDatamillTests.Snapshot) throws -> [String: JSONValue] {
        var comments: [String: JSONValue] = [:]
        for line in snapshot.comments {
            let table = String(line.prefix { $0 != "|" })
            comments[table] = try JSONValue.parse(Array(line.dropFirst(table.count + 1).utf8))
        }
        return comments
    }

    /// Rows of each stream's table with `_sdc_repository` and `_sdc_received_at` set, in `streams` order.
    static func loaded(_ url: String) async throws -> [Int64] {
        let database = PostgresClient(url: url, maxConnections: 1)
        defer { Task { await database.shutdown() } }
        var counts: [Int64] = []
        for table in ["pull_requests", "reviews", "review_comments", "pr_commits"] {
            let row = try #require(
                try await database.query(
                    """
                    SELECT count(*)::bigint AS n FROM \(identifier: table)
                    WHERE _sdc_repository = 'conveyor/example-model' AND _sdc_received_at IS NOT NULL
                    """
                ).first)
            counts.append(try row.decode("n"))
        }
        return counts
    }
}
