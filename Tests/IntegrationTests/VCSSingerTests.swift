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
        #expect(broken.stderr.contains("before its SCHEMA"))
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
