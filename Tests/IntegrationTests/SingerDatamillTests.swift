import Foundation
import JSON
import Postgres
import Subprocess
import Testing
import VCSService

/// `vcs target` against datamill's `singer-target-postgres` (PyPI 0.2.4, the
/// loader the original design used): one stream with odd property names,
/// nested objects, arrays of objects and arrays of arrays, properties of
/// several types and a stream without keys, loaded by each into its own
/// database, must give the same tables, columns, comments, indexes and rows;
/// then each continues loading into the other's tables (new property, a
/// property gaining a type, updated records) and they must agree again.
@Suite("Singer layout: vcs target and datamill's target-postgres", .serialized)
struct SingerDatamillTests {
    static let tables = ["issue\\_events%", "audit\\_log%"]

    @Test("both loaders lay one stream out identically and continue in each other's tables")
    func sameTablesBothWays() async throws {
        let datamill = try #require(
            ProcessInfo.processInfo.environment["CONVEYOR_SINGER_TARGET_POSTGRES"],
            "CONVEYOR_SINGER_TARGET_POSTGRES must name datamill's target-postgres (deploy/local.sh test installs it)")
        let datamillFirst = try await TestPostgres.freshDatabase()
        let vcsFirst = try await TestPostgres.freshDatabase()
        let started = Int64(Date().timeIntervalSince1970)

        let first = Self.firstStream()
        try await Self.datamill(datamill, url: datamillFirst, stream: first)
        try await Self.vcsTarget(url: vcsFirst, stream: first)
        let datamillTables = try await Self.snapshot(datamillFirst)
        let vcsTables = try await Self.snapshot(vcsFirst)
        #expect(!datamillTables.columns.isEmpty)
        Self.expectSame(datamillTables, vcsTables, "after the first load")
        for column in [
            "issue_events|title|text|YES", "issue_events|reactions___1|bigint|YES",
            "issue_events|reactions___1__1|bigint|YES", "issue_events|reactions__total_count|bigint|YES",
            "issue_events|score__i|bigint|YES", "issue_events|score__s|text|YES",
            "issue_events|ratio__b|boolean|YES", "issue_events|ratio__f|double precision|YES",
            "issue_events|a_very_long_property_name_that_goes_past_the_postgres_identifie|text|YES",
            "issue_events__matrix___sdc_value|_sdc_value|bigint|NO",
            "issue_events__labels__aliases|_sdc_level_1_id|bigint|NO", "audit_log|_sdc_primary_key|text|NO",
            "issue_events|größe|double precision|YES", "issue_events|cost$|bigint|YES",
        ] {
            #expect(vcsTables.columns.contains { $0.hasPrefix(column + "|") }, "vcs target has \(column)")
        }
        #expect(vcsTables.comments.contains { $0.hasPrefix("issue_events|{\"path\": [\"Issue-Events\"]") })

        let second = Self.secondStream()
        try await Self.vcsTarget(url: datamillFirst, stream: second)
        try await Self.datamill(datamill, url: vcsFirst, stream: second)
        let datamillContinued = try await Self.snapshot(datamillFirst)
        let vcsContinued = try await Self.snapshot(vcsFirst)
        Self.expectSame(datamillContinued, vcsContinued, "after each continued in the other's tables")
        #expect(vcsContinued.columns.contains { $0.hasPrefix("issue_events|title__s|text|YES|") })
        #expect(vcsContinued.columns.contains { $0.hasPrefix("issue_events|title__i|bigint|YES|") })
        #expect(!vcsContinued.columns.contains { $0.hasPrefix("issue_events|title|") })
        for snapshot in [datamillContinued, vcsContinued] {
            #expect(snapshot.rows.contains { $0.contains("\"id\": 1") && $0.contains("\"title__s\": \"renamed\"") })
            #expect(snapshot.rows.contains { $0.contains("\"id\": 3") && $0.contains("\"title__i\": 7") })
            #expect(snapshot.rows.contains { $0.hasPrefix("issue_events__labels|") && $0.contains("\"perf\"") })
            #expect(!snapshot.rows.contains { $0.hasPrefix("issue_events__labels|") && $0.contains("\"bug\"") })
        }
        for url in [datamillFirst, vcsFirst] {
            let (low, high) = try await Self.sequenceRange(url)
            #expect(
                low >= started - 2 && high <= Int64(Date().timeIntervalSince1970) + 2,
                "_sdc_sequence is in seconds, as datamill writes it: \(low)…\(high)")
        }
    }

    @Test("pull_requests: vcs migrates and loads into datamill's table; datamill loads into vcs's")
    func pullRequestsBothWays() async throws {
        let datamill = try #require(ProcessInfo.processInfo.environment["CONVEYOR_SINGER_TARGET_POSTGRES"])
        let schema = String(decoding: try PullRequestsStream.schemaMessage.line(), as: UTF8.self)
        func record(_ id: Int, title: String, merged: Bool) -> String {
            let pull: JSONValue = .object([
                "id": .number(Double(id)), "number": .number(Double(id)), "title": .string(title),
                "state": .string(merged ? "closed" : "open"),
                "merged_at": merged ? .string("2026-03-0\(id)T10:00:00Z") : .null,
                "merge_commit_sha": .string(String(repeating: "a", count: 40)),
                "user": .object(["login": .string("dev"), "id": .number(7)]),
                "base": .object(["ref": .string("main"), "sha": .string("b")]),
                "labels": .array([.object(["id": .number(1), "name": .string("model")])]),
                "updated_at": .string("2026-03-0\(id)T10:00:00Z"),
            ])
            let message = SingerMessage.record(
                stream: PullRequestsStream.name, record: pull, timeExtracted: Self.now(), version: nil)
            return String(decoding: (try? message.line()) ?? Data(), as: UTF8.self)
        }
        // datamill first: the table is datamill's; vcs's migrations and loads continue in it.
        let datamillFirst = try await TestPostgres.freshDatabase()
        try await Self.datamill(
            datamill, url: datamillFirst,
            stream: [schema, record(1, title: "one", merged: true), ""].joined(separator: "\n"))
        try await Self.vcsTarget(
            url: datamillFirst,
            stream: [schema, record(1, title: "one, edited", merged: true), record(2, title: "two", merged: false), ""]
                .joined(separator: "\n"))
        // vcs first: migrated (and prepared) by vcs; datamill continues in it.
        let vcsFirst = try await TestPostgres.freshDatabase()
        try await Self.vcsTarget(
            url: vcsFirst, stream: [schema, record(1, title: "one", merged: true), ""].joined(separator: "\n"))
        try await Self.datamill(
            datamill, url: vcsFirst,
            stream: [schema, record(1, title: "one, edited", merged: true), record(2, title: "two", merged: false), ""]
                .joined(separator: "\n"))
        for url in [datamillFirst, vcsFirst] {
            let database = PostgresClient(url: url, maxConnections: 1)
            let rows = try await database.query(
                "SELECT id, title, user__login, base__ref FROM pull_requests ORDER BY id")
            #expect(try rows.map { try $0.decode("title", as: String.self) } == ["one, edited", "two"])
            #expect(try rows.map { try $0.decode("base__ref", as: String.self) } == ["main", "main"])
            let labels = try await database.query("SELECT name FROM pull_requests__labels ORDER BY _sdc_source_key_id")
            #expect(try labels.map { try $0.decode("name", as: String.self) } == ["model", "model"])
            // The trainer's question: the newest merged pull request on main.
            let merged = try await database.query(
                "SELECT number FROM pull_requests WHERE base__ref = 'main' AND merged_at IS NOT NULL ORDER BY merged_at DESC"
            )
            #expect(try merged.map { try $0.decode("number", as: Int64.self) } == [1])
            await database.shutdown()
        }
    }

    /// Conveyor's own pull_requests stream: the SCHEMA, then one RECORD a (id, title, seconds from now extracted).
    static func pullRequests(_ records: [(Int, String, Double)]) throws -> String {
        var lines = [String(decoding: try PullRequestsStream.schemaMessage.line(), as: UTF8.self)]
        for (id, title, extracted) in records {
            let pull: JSONValue = .object([
                "id": .number(Double(id)), "number": .number(Double(id)), "title": .string(title),
                "state": "open", "base": .object(["ref": "main"]), "updated_at": .string(now(offset: extracted)),
            ])
            let message = SingerMessage.record(
                stream: PullRequestsStream.name, record: pull, timeExtracted: now(offset: extracted), version: nil)
            lines.append(String(decoding: try message.line(), as: UTF8.self))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func titles(_ url: String) async throws -> [String] {
        let database = PostgresClient(url: url, maxConnections: 1)
        defer { Task { await database.shutdown() } }
        return try await database.query("SELECT title FROM pull_requests ORDER BY id").map {
            try $0.decode("title", as: String.self)
        }
    }

    @Test("datamill loads into a database Conveyor only migrated, and vcs target continues in it")
    func datamillAfterMigrationOnly() async throws {
        let datamill = try #require(ProcessInfo.processInfo.environment["CONVEYOR_SINGER_TARGET_POSTGRES"])
        let url = try await TestPostgres.freshDatabase()
        let migrated = try await VCSSingerTests.target(url, [])
        #expect(migrated.status == 0, "\(migrated.stderr)")
        try await Self.datamill(datamill, url: url, stream: try Self.pullRequests([(1, "one", 0), (2, "two", 0)]))
        #expect(try await Self.titles(url) == ["one", "two"])
        try await Self.vcsTarget(url: url, stream: try Self.pullRequests([(1, "one, edited", 1)]))
        #expect(try await Self.titles(url) == ["one, edited", "two"])
    }

    @Test("sharing a table with datamill, the version extracted last wins, not the one loaded last")
    func extractionTimeDecidesAcrossLoaders() async throws {
        let datamill = try #require(ProcessInfo.processInfo.environment["CONVEYOR_SINGER_TARGET_POSTGRES"])
        let url = try await TestPostgres.freshDatabase()
        // datamill stamps _sdc_sequence with its load time (now), later than both extractions below.
        try await Self.datamill(datamill, url: url, stream: try Self.pullRequests([(1, "seen a minute ago", -60)]))
        try await Self.vcsTarget(url: url, stream: try Self.pullRequests([(1, "seen 30 s ago", -30)]))
        #expect(try await Self.titles(url) == ["seen 30 s ago"], "a newer version is not dropped")
        let result = try await VCSSingerTests.target(
            url, Array(try Self.pullRequests([(1, "seen 90 s ago", -90)]).utf8))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try await Self.titles(url) == ["seen 30 s ago"], "an older version does not replace it")
        #expect(result.stderr.contains("\"superseded\":\"1\""), "and the target says so: \(result.stderr)")
        // datamill's rule is its own: it replaces what it finds with what it loads.
        try await Self.datamill(datamill, url: url, stream: try Self.pullRequests([(1, "seen 2 min ago", -120)]))
        #expect(try await Self.titles(url) == ["seen 2 min ago"])
    }

    /// Records carry `time_extracted` of now (as a tap writes it), to the millisecond.
    static func now(offset: Double = 0) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date().addingTimeInterval(offset))
    }

    static func firstStream() -> String {
        let extracted = now()
        return """
            {"type": "SCHEMA", "stream": "Issue-Events", "key_properties": ["id"], "schema": {"type": "object", "properties": {"id": {"type": "integer"}, "Title": {"type": ["null", "string"]}, "reactions": {"type": ["null", "object"], "properties": {"+1": {"type": ["null", "integer"]}, "-1": {"type": ["null", "integer"]}, "total count": {"type": ["null", "integer"]}}}, "score": {"type": ["null", "integer", "string"]}, "ratio": {"type": ["null", "number", "boolean"]}, "labels": {"type": ["null", "array"], "items": {"type": "object", "properties": {"name": {"type": "string"}, "aliases": {"type": "array", "items": {"type": "string"}}}}}, "matrix": {"type": ["null", "array"], "items": {"type": "array", "items": {"type": "integer"}}}, "a_very_long_property_name_that_goes_past_the_postgres_identifier_limit_of_sixty_three": {"type": ["null", "string"]}, "created_at": {"type": ["null", "string"], "format": "date-time"}, "Größe": {"type": ["null", "number"]}, "cost$": {"type": ["null", "integer"]}}}}
            {"type": "RECORD", "stream": "Issue-Events", "time_extracted": "\(extracted)", "record": {"Größe": 1.5, "cost$": 12, "id": 1, "Title": "first", "reactions": {"+1": 3, "-1": 0, "total count": 3}, "score": 5, "ratio": 0.5, "labels": [{"name": "bug", "aliases": ["defect", "error"]}, {"name": "ui", "aliases": []}], "matrix": [[1, 2], [3]], "a_very_long_property_name_that_goes_past_the_postgres_identifier_limit_of_sixty_three": "long", "created_at": "2026-01-02T03:04:05Z"}}
            {"type": "RECORD", "stream": "Issue-Events", "time_extracted": "\(extracted)", "record": {"id": 2, "Title": null, "reactions": null, "score": "high", "ratio": true, "labels": null, "matrix": [], "created_at": "2026-01-03T03:04:05.25+02:00"}}
            {"type": "SCHEMA", "stream": "Audit Log", "key_properties": [], "schema": {"type": "object", "properties": {"actor": {"type": "string"}, "at": {"type": "string", "format": "date-time"}, "tags": {"type": ["null", "array"], "items": {"type": ["string", "integer"]}}}}}
            {"type": "RECORD", "stream": "Audit Log", "time_extracted": "\(extracted)", "record": {"actor": "ada", "at": "2026-02-01T00:00:00Z", "tags": ["x", 2]}}
            {"type": "STATE", "value": {"bookmarks": {"Issue-Events": 2}}}

            """
    }

    static func secondStream() -> String {
        let extracted = now(offset: 1)
        return """
            {"type": "SCHEMA", "stream": "Issue-Events", "key_properties": ["id"], "schema": {"type": "object", "properties": {"id": {"type": "integer"}, "Title": {"type": ["null", "string", "integer"]}, "reactions": {"type": ["null", "object"], "properties": {"+1": {"type": ["null", "integer"]}, "-1": {"type": ["null", "integer"]}, "total count": {"type": ["null", "integer"]}}}, "score": {"type": ["null", "integer", "string"]}, "ratio": {"type": ["null", "number", "boolean"]}, "labels": {"type": ["null", "array"], "items": {"type": "object", "properties": {"name": {"type": "string"}, "aliases": {"type": "array", "items": {"type": "string"}}}}}, "matrix": {"type": ["null", "array"], "items": {"type": "array", "items": {"type": "integer"}}}, "a_very_long_property_name_that_goes_past_the_postgres_identifier_limit_of_sixty_three": {"type": ["null", "string"]}, "created_at": {"type": ["null", "string"], "format": "date-time"}, "extra": {"type": ["null", "boolean"]}}}}
            {"type": "RECORD", "stream": "Issue-Events", "time_extracted": "\(extracted)", "record": {"id": 1, "Title": "renamed", "labels": [{"name": "perf", "aliases": ["slow"]}], "matrix": [[9]], "extra": true}}
            {"type": "RECORD", "stream": "Issue-Events", "time_extracted": "\(extracted)", "record": {"id": 3, "Title": 7, "score": 1}}
            {"type": "STATE", "value": {"bookmarks": {"Issue-Events": 3}}}

            """
    }

    /// Runs datamill's loader on `stream` (no usage reporting: nothing leaves loopback).
    static func datamill(_ executable: String, url: String, stream: String) async throws {
        let components = try #require(URLComponents(string: url))
        let config: JSONValue = .object([
            "postgres_host": .string(components.host ?? "127.0.0.1"),
            "postgres_port": .number(Double(components.port ?? 5432)),
            "postgres_database": .string(String(components.path.dropFirst())),
            "postgres_username": .string(components.user ?? "postgres"),
            "postgres_password": .string(components.password ?? ""), "postgres_schema": "public",
            "disable_collection": .bool(true),
        ])
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("datamill-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try JSONEncoder().encode(config).write(to: directory.appendingPathComponent("config.json"))
        try stream.write(to: directory.appendingPathComponent("stream.jsonl"), atomically: true, encoding: .utf8)
        let result = try await CommandRunner.output(
            ["/bin/bash", "-c", #""$LOADER" -c "$DIR/config.json" < "$DIR/stream.jsonl""#],
            environment: ["LOADER": executable, "DIR": directory.path, "PATH": "/usr/bin:/bin"])
        #expect(result.status == 0, "datamill's target-postgres failed:\n\(result.stderr.suffix(4000))")
    }

    static func vcsTarget(url: String, stream: String) async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("stream-\(UUID().uuidString).jsonl")
        try stream.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try await VCSSingerTests.shell(
            #""$BIN/vcs" target --state-key datamill-test < "$FILE""#,
            ["DATABASE_URL": url, "BIN": VCSSingerTests.bin, "FILE": file.path, "LOG_LEVEL": "info"])
        #expect(result.status == 0, "vcs target failed:\n\(result.stderr.suffix(4000))")
        #expect(result.stderr.contains("\"rejected\":\"0\""), "\(result.stderr.suffix(2000))")
    }

    /// The stream tables' catalog and contents, as comparable lines.
    struct Snapshot {
        var columns: [String] = []
        var comments: [String] = []
        var indexes: [String] = []
        var rows: [String] = []
    }

    /// Per-load values, which differ by design: when the batch ran, and the generated keys of a keyless stream.
    static let perLoad = ["_sdc_batched_at", "_sdc_sequence", "_sdc_primary_key", "_sdc_source_key__sdc_primary_key"]

    /// The catalog and rows (without the keys `excluding`) of the tables whose names match one of `tables`.
    static func snapshot(_ url: String, tables: [String] = tables, excluding: [String] = perLoad) async throws
        -> Snapshot
    {
        let database = PostgresClient(url: url, maxConnections: 1)
        defer { Task { await database.shutdown() } }
        var snapshot = Snapshot()
        for row in try await database.query(
            """
            SELECT concat_ws('|', c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
                             CASE WHEN a.attnotnull THEN 'NO' ELSE 'YES' END, a.attnum) AS line
            FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = current_schema() AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
              AND c.relname LIKE ANY (\(tables))
            ORDER BY c.relname, a.attnum
            """)
        {
            snapshot.columns.append(try row.decode("line"))
        }
        for row in try await database.query(
            """
            SELECT c.relname || '|' || coalesce(obj_description(c.oid, 'pg_class'), '') AS line
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relname LIKE ANY (\(tables)) ORDER BY 1
            """)
        {
            snapshot.comments.append(try row.decode("line"))
        }
        for row in try await database.query(
            """
            SELECT i.indexname || '|' || i.indexdef AS line FROM pg_indexes i
            JOIN pg_class c ON c.relname = i.tablename
            JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = i.schemaname
            WHERE i.schemaname = current_schema() AND c.relname LIKE ANY (\(tables)) ORDER BY 1
            """)
        {
            snapshot.indexes.append(try row.decode("line"))
        }
        for table in snapshot.comments.map({ String($0.prefix { $0 != "|" }) }) {
            for row in try await database.query(
                """
                SELECT \(table)::text || '|' || (to_jsonb(t) - \(excluding)::text[])::text AS line
                FROM \(identifier: table) t ORDER BY 1
                """)
            {
                snapshot.rows.append(try row.decode("line"))
            }
        }
        return snapshot
    }

    static func expectSame(_ datamill: Snapshot, _ vcs: Snapshot, _ when: String) {
        #expect(datamill.columns == vcs.columns, "columns \(when)")
        #expect(datamill.comments == vcs.comments, "table comments \(when)")
        #expect(datamill.indexes == vcs.indexes, "indexes \(when)")
        #expect(datamill.rows == vcs.rows, "rows \(when)")
        #expect(datamill.rows.count >= 10, "\(datamill.rows.count) rows \(when)")
    }

    static func sequenceRange(_ url: String) async throws -> (Int64, Int64) {
        let database = PostgresClient(url: url, maxConnections: 1)
        defer { Task { await database.shutdown() } }
        let row = try #require(
            try await database.query(
                "SELECT min(_sdc_sequence) AS low, max(_sdc_sequence) AS high FROM issue_events"
            ).first)
        return (try row.decode("low"), try row.decode("high"))
    }
}
