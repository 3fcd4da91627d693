import Foundation
import HTTPClient
import JSON
import Postgres
import Subprocess
import Testing

@Suite("vcs: Singer tap and target, signed webhooks from the sandbox", .serialized)
struct VCSSingerTests {
    static var bin: String { LaunchedProcess.binDirectory.path }

    /// Runs a shell pipeline with the fixture's environment plus `extra`.
    static func shell(_ script: String, _ environment: [String: String]) async throws -> CommandResult {
        try await CommandRunner.output(["/bin/bash", "-o", "pipefail", "-c", script], environment: environment)
    }

    /// Every row of `table` as JSON text without the per-load metadata, ordered.
    static func rows(_ url: String, _ table: String, orderBy: String) async throws -> [String] {
        let database = PostgresClient(url: url, maxConnections: 1)
        defer { Task { await database.shutdown() } }
        let rows = try await database.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT (to_jsonb(t) - '_sdc_received_at' - '_sdc_batched_at' - '_sdc_sequence')::text AS j
                    FROM \(table) t ORDER BY \(orderBy)
                    """))
        return try rows.map { try $0.decode("j", as: String.self) }
    }

    @Test("vcs tap | vcs target stores exactly what GET /checkout stores")
    func pipeEqualsCheckout() async throws {
        let vcs = try await VCSFixture()
        do {
            try await vcs.call("POST", "\(vcs.sandboxURL)/_sandbox/pulls/generate", #"{"count": 230}"#)
            let (status, _) = try await vcs.checkout()
            #expect(status == 200)
            let other = try await TestPostgres.freshDatabase()
            let piped = try await Self.shell(
                "\"$BIN/vcs\" tap | \"$BIN/vcs\" target",
                vcs.environment.merging(["DATABASE_URL": other, "BIN": Self.bin, "LOG_LEVEL": "info"]) { $1 })
            #expect(piped.status == 0, "\(piped.stderr)")
            let stateLine = try #require(
                piped.stdout.split(separator: "\n").last, "the target writes the committed STATE value")
            let stateValue = try JSONValue.parse(Array(stateLine.utf8))
            #expect(
                stateValue["bookmarks"] != nil && stateValue["type"] == nil, "the value, not the message: \(stateLine)")
            #expect(piped.stderr.contains("target finished"))
            let checkoutRows = try await Self.rows(vcs.databaseURL, "pull_requests", orderBy: "id")
            let pipedRows = try await Self.rows(other, "pull_requests", orderBy: "id")
            #expect(checkoutRows.count == 231)
            #expect(checkoutRows == pipedRows)
            #expect(
                try await Self.rows(
                    vcs.databaseURL, "pull_requests__labels", orderBy: "_sdc_source_key_id, _sdc_level_0_id")
                    == Self.rows(other, "pull_requests__labels", orderBy: "_sdc_source_key_id, _sdc_level_0_id"))
            let states = try await [vcs.databaseURL, other].asyncMap { url in
                let database = PostgresClient(url: url, maxConnections: 1)
                defer { Task { await database.shutdown() } }
                return try await database.query("SELECT state::text AS s FROM singer_state").first?.decode(
                    "s", as: String.self)
            }
            #expect(states[0] != nil && states[0] == states[1])
        } catch {
            Issue.record("\(error)\n\(vcs.logs())")
        }
        await vcs.stop()
    }

    @Test(
        "tap --state state.json | target > state.json round-trips; tap-github's state shape is read; an unknown one is refused"
    )
    func stateFiles() async throws {
        let vcs = try await VCSFixture()
        do {
            try await vcs.call("POST", "\(vcs.sandboxURL)/_sandbox/pulls/generate", #"{"count": 40}"#)
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("state-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let environment = vcs.environment.merging(
                ["BIN": Self.bin, "DIR": directory.path, "LOG_LEVEL": "info"]) { $1 }
            let first = try await Self.shell(#""$BIN/vcs" tap | "$BIN/vcs" target > "$DIR/state.json""#, environment)
            #expect(first.status == 0, "\(first.stderr)")
            let again = try await Self.shell(#""$BIN/vcs" tap --state "$DIR/state.json""#, environment)
            #expect(again.status == 0, "\(again.stderr)")
            #expect(!again.stdout.contains("\"RECORD\""), "nothing changed, so nothing is re-synced")

            let state = try JSONValue.parse(
                Array(
                    try String(contentsOf: directory.appendingPathComponent("state.json"), encoding: .utf8).split(
                        separator: "\n"
                    ).last!.utf8))
            let since = try #require(
                state["bookmarks"]?[VCSFixture.repository]?["pull_requests"]?["since"]?.stringValue)
            let tapGitHub = #"{"bookmarks": {"pull_requests": {"\#(VCSFixture.repository)": {"since": "\#(since)"}}}}"#
            try tapGitHub.write(
                to: directory.appendingPathComponent("tap-github.json"), atomically: true, encoding: .utf8)
            let fromTapGitHub = try await Self.shell(#""$BIN/vcs" tap --state "$DIR/tap-github.json""#, environment)
            #expect(fromTapGitHub.status == 0, "\(fromTapGitHub.stderr)")
            // Inclusive bookmark: only records updated at `since` itself come again, not all 41.
            let records = fromTapGitHub.stdout.split(separator: "\n").filter { $0.contains("\"type\":\"RECORD\"") }
            #expect(records.count < 5, "tap-github's bookmark is honoured: \(records.count) records re-synced")

            try #"{"bookmarks": {"someone/else": {"since": "x"}}}"#.write(
                to: directory.appendingPathComponent("other.json"), atomically: true, encoding: .utf8)
            let other = try await Self.shell(#""$BIN/vcs" tap --state "$DIR/other.json""#, environment)
            #expect(other.status != 0)
            #expect(other.stderr.contains("no bookmark for"), "\(other.stderr)")
        } catch {
            Issue.record("\(error)\n\(vcs.logs())")
        }
        await vcs.stop()
    }

    @Test("vcs target: any stream, schema evolution, newest sequence wins, a rejected record is counted")
    func targetSchemaEvolution() async throws {
        let url = try await TestPostgres.freshDatabase()
        let stream = """
            {"type": "SCHEMA", "stream": "widgets", "key_properties": ["id"], "schema": {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": ["null", "string"]}, "tags": {"type": ["null", "array"], "items": {"type": "string"}}}}}
            {"type": "RECORD", "stream": "widgets", "record": {"id": 1, "name": "first", "tags": ["a", "b"]}}
            {"type": "RECORD", "stream": "widgets", "record": {"id": 1, "name": "first, renamed", "tags": ["c"]}}
            {"type": "STATE", "value": {"bookmarks": {"widgets": {"since": "1"}}}}
            {"type": "SCHEMA", "stream": "widgets", "key_properties": ["id"], "schema": {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": ["null", "string"]}, "tags": {"type": ["null", "array"], "items": {"type": "string"}}, "size": {"type": ["null", "number"]}, "dims": {"type": ["null", "object"], "properties": {"w": {"type": ["null", "integer"]}, "h": {"type": ["null", "integer"]}}}}}}
            {"type": "RECORD", "stream": "widgets", "record": {"id": 2, "name": "second", "size": 2.5, "dims": {"w": 3, "h": 4}}}
            {"type": "RECORD", "stream": "widgets", "record": {"id": 3, "name": "bad", "size": "big"}}
            {"type": "STATE", "value": {"bookmarks": {"widgets": {"since": "3"}}}}
            """
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("stream-\(UUID().uuidString).jsonl")
        try stream.write(to: file, atomically: true, encoding: .utf8)
        let result = try await Self.shell(
            "\"$BIN/vcs\" target --state-key widgets-test < \"$FILE\"",
            ["DATABASE_URL": url, "BIN": Self.bin, "FILE": file.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("rejected record") && result.stderr.contains("size"))
        #expect(
            result.stderr.contains("\"rejected\":\"1\"") || result.stderr.contains("rejected=1")
                || result.stderr.contains("\"rejected\": \"1\""), "\(result.stderr)")
        let states = result.stdout.split(separator: "\n").compactMap { try? JSONValue.parse(Array($0.utf8)) }
        #expect(states.count == 2)
        #expect(states.last == .object(["bookmarks": .object(["widgets": .object(["since": .string("3")])])]))
        let database = PostgresClient(url: url, maxConnections: 1)
        let rows = Array(try await database.query("SELECT id, name, size, dims__w, dims__h FROM widgets ORDER BY id"))
        #expect(rows.count == 2)
        #expect(try rows.first?.decode("name", as: String.self) == "first, renamed")
        #expect(try rows.last?.decode("size", as: Double.self) == 2.5)
        #expect(try rows.last?.decode("dims__h", as: Int64.self) == 4)
        let tags = try await database.query("SELECT _sdc_value FROM widgets__tags WHERE _sdc_source_key_id = 1")
        #expect(try tags.map { try $0.decode("_sdc_value", as: String.self) } == ["c"])
        let state = try await database.query("SELECT state::text AS s FROM singer_state WHERE tap = 'widgets-test'")
        #expect(try state.first?.decode("s", as: String.self).contains("\"3\"") == true)
        await database.shutdown()

        let broken = try await Self.shell(
            "printf '{\"type\": \"RECORD\", \"stream\": \"nope\", \"record\": {}}\\n' | \"$BIN/vcs\" target",
            ["DATABASE_URL": url, "BIN": Self.bin])
        #expect(broken.status != 0)
        #expect(broken.stderr.contains("line 1: RECORD for stream \\\"nope\\\" before its SCHEMA"), "\(broken.stderr)")
    }

    /// Runs `vcs target` on `stream` (bytes as given) with `arguments`, against `url`.
    static func target(_ url: String, _ stream: [UInt8], arguments: String = "") async throws -> CommandResult {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("stream-\(UUID().uuidString).jsonl")
        try Data(stream).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        return try await shell(
            "\"$BIN/vcs\" target --state-key test \(arguments) < \"$FILE\"",
            ["DATABASE_URL": url, "BIN": bin, "FILE": file.path, "LOG_LEVEL": "info"])
    }

    @Test("_sdc_ properties are stored, as datamill stores them: tap-github's _sdc_repository, non-null or nullable")
    func sdcPropertiesStored() async throws {
        let url = try await TestPostgres.freshDatabase()
        var lines: [String] = []
        for (stream, type) in [("reviews", #"["string"]"#), ("assignees", #"["null", "string"]"#)] {
            lines.append(
                #"{"type": "SCHEMA", "stream": "\#(stream)", "key_properties": ["id"], "schema": {"type": ["null", "object"], "properties": {"_sdc_repository": {"type": \#(type)}, "id": {"type": ["null", "integer"]}, "labels": {"type": ["null", "array"], "items": {"type": ["null", "object"], "properties": {"name": {"type": ["null", "string"]}}}}}}}"#
            )
            for id in 1...3 {
                lines.append(
                    #"{"type": "RECORD", "stream": "\#(stream)", "record": {"_sdc_repository": "conveyor/example-model", "id": \#(id), "labels": [{"name": "model"}]}}"#
                )
            }
        }
        lines.append(#"{"type": "STATE", "value": {"bookmarks": {"reviews": {"since": "2026-03-01T00:00:00Z"}}}}"#)
        let result = try await Self.target(url, Array(lines.joined(separator: "\n").utf8))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("\"rejected\":\"0\""), "\(result.stderr)")
        let database = PostgresClient(url: url, maxConnections: 1)
        for table in ["reviews", "assignees"] {
            let rows = try await database.query(
                "SELECT coalesce(_sdc_repository, 'NULL') AS r FROM \(identifier: table) ORDER BY id")
            #expect(
                try rows.map { try $0.decode("r", as: String.self) }
                    == Array(repeating: "conveyor/example-model", count: 3))
        }
        #expect(try await database.query("SELECT 1 FROM reviews__labels").count == 3)
        await database.shutdown()
    }

    @Test("a pull_requests stream whose id allows null (tap-github's) loads into a freshly migrated database")
    func nullableIDLoads() async throws {
        let url = try await TestPostgres.freshDatabase()
        let stream = """
            {"type": "SCHEMA", "stream": "pull_requests", "key_properties": ["id"], "schema": {"type": ["null", "object"], "properties": {"_sdc_repository": {"type": ["string"]}, "id": {"type": ["null", "integer"]}, "number": {"type": ["null", "integer"]}, "title": {"type": ["null", "string"]}, "updated_at": {"type": ["null", "string"], "format": "date-time"}}}}
            {"type": "RECORD", "stream": "pull_requests", "record": {"_sdc_repository": "o/r", "id": 11, "number": 1, "title": "one", "updated_at": "2026-03-01T00:00:00Z"}}
            {"type": "RECORD", "stream": "pull_requests", "record": {"_sdc_repository": "o/r", "id": 12, "number": 2, "title": "two", "updated_at": "2026-03-02T00:00:00Z"}}
            """
        let result = try await Self.target(url, Array(stream.utf8))
        #expect(result.status == 0, "\(result.stderr)")
        let database = PostgresClient(url: url, maxConnections: 1)
        let rows = try await database.query("SELECT title, _sdc_repository FROM pull_requests ORDER BY id")
        #expect(try rows.map { try $0.decode("title", as: String.self) } == ["one", "two"])
        await database.shutdown()
    }

    @Test(
        "a NUL, bytes that are not UTF-8 or a lone surrogate stop the load naming the field; that batch and bookmark are not kept",
        arguments: [
            (Array(#"{"name": "a\u0000b"}"#.utf8), ": name holds a NUL character"),
            (
                Array(#"{"name": "ij", "title": "caf"#.utf8) + [0xE9] + Array(#""}"#.utf8),
                "field title is not valid UTF-8"
            ),
            (Array(#"{"name": "ij", "title": "\udcff"}"#.utf8), "field title holds a lone UTF-16 surrogate"),
        ] as [([UInt8], String)])
    func alteredTextRefused(_ record: [UInt8], _ expected: String) async throws {
        let url = try await TestPostgres.freshDatabase()
        func line(_ text: String) -> [UInt8] { Array((text + "\n").utf8) }
        func recordLine(_ record: [UInt8]) -> [UInt8] {
            line(#"{"type": "RECORD", "stream": "names", "record": "#).dropLast() + record + line("}")
        }
        var stream = line(
            #"{"type": "SCHEMA", "stream": "names", "key_properties": ["name"], "schema": {"type": "object", "properties": {"name": {"type": "string"}, "title": {"type": ["null", "string"]}}}}"#
        )
        stream += recordLine(Array(#"{"name": "ab"}"#.utf8)) + recordLine(Array(#"{"name": "cd"}"#.utf8))
        stream += line(#"{"type": "STATE", "value": {"bookmark": 1}}"#)
        stream += recordLine(Array(#"{"name": "ef"}"#.utf8)) + recordLine(record)
        stream += recordLine(Array(#"{"name": "gh"}"#.utf8)) + line(#"{"type": "STATE", "value": {"bookmark": 2}}"#)
        let result = try await Self.target(url, stream, arguments: "--batch-size 2")
        #expect(result.status != 0)
        #expect(result.stderr.contains("line 6:") && result.stderr.contains(expected), "\(result.stderr)")
        #expect(result.stderr.contains("names"), "the stream is named: \(result.stderr)")
        let database = PostgresClient(url: url, maxConnections: 1)
        let names = try await database.query("SELECT name FROM names ORDER BY name")
        #expect(try names.map { try $0.decode("name", as: String.self) } == ["ab", "cd"], "the batch before stays")
        #expect(try await database.query("SELECT 1 FROM singer_state").count == 0, "no bookmark past the refusal")
        await database.shutdown()
    }

    /// 1,100 non-null integers: a row Postgres refuses as too big (8 KiB), whatever the values.
    static let wideStream: String = {
        let columns = 1...1100
        return
            #"{"type": "SCHEMA", "stream": "wide readings", "key_properties": ["c1"], "schema": {"type": "object", "properties": {"#
            + columns.map { #""c\#($0)": {"type": "integer"}"# }.joined(separator: ", ") + "}}}\n"
            + #"{"type": "RECORD", "stream": "wide readings", "record": {"#
            + columns.map { #""c\#($0)": \#($0)"# }.joined(separator: ", ") + "}}"
    }()

    @Test(
        "a stream Postgres cannot store fails naming the line, the parser's reason or the stream",
        arguments: [
            (#"{"type": "RECORD", "stream""#, "line 1: is not valid JSON: expected ':' at byte 27"),
            (wideStream, "stream wide readings: postgres 54000: row is too big"),
        ])
    func failuresExplained(_ stream: String, _ expected: String) async throws {
        let url = try await TestPostgres.freshDatabase()
        let result = try await Self.target(url, Array(stream.utf8))
        #expect(result.status != 0)
        #expect(result.stderr.contains(expected), "\(result.stderr.suffix(3000))")
    }

    @Test("github-sandbox send-webhook: signed is applied once, wrongly signed is refused and stores nothing")
    func sandboxSignedWebhooks() async throws {
        let vcs = try await VCSFixture()
        do {
            let send = "\"$BIN/github-sandbox\" send-webhook --url \"$URL\" --pr 1 --delivery \"$DELIVERY\""
            var environment = vcs.environment.merging(["BIN": Self.bin, "URL": "\(vcs.vcsURL)/webhook"]) { $1 }
            environment["DELIVERY"] = "bad-1"
            let wrong = try await Self.shell(send + " --wrong-signature", environment)
            #expect(wrong.status != 0)
            #expect(wrong.stdout.hasPrefix("401"))
            #expect(try await vcs.count("SELECT count(*)::bigint AS n FROM pull_requests") == 0)
            environment["DELIVERY"] = "good-1"
            let signed = try await Self.shell(send, environment)
            #expect(signed.status == 0, "\(signed.stdout)\(signed.stderr)")
            #expect(signed.stdout.contains("applied"))
            let replay = try await Self.shell(send, environment)
            #expect(replay.stdout.contains("duplicate"))
            #expect(
                try await vcs.count("SELECT count(*)::bigint AS n FROM pull_requests WHERE merged_at IS NOT NULL") == 1)
            #expect(try await vcs.count("SELECT count(*)::bigint AS n FROM webhook_deliveries") == 1)
            let metrics = try await vcs.http.send(CurlRequest(method: .get, url: "\(vcs.vcsURL)/metrics")).text
            for line in [
                #"conveyor_webhook_deliveries_total{event="pull_request",result="applied"} 1"#,
                #"conveyor_webhook_deliveries_total{event="pull_request",result="duplicate"} 1"#,
                #"conveyor_webhook_deliveries_total{event="pull_request",result="bad_signature"} 1"#,
            ] {
                #expect(metrics.contains(line), "\(line) in:\n\(metrics.prefix(3000))")
            }
        } catch {
            Issue.record("\(error)\n\(vcs.logs())")
        }
        await vcs.stop()
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
