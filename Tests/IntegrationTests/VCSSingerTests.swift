import Foundation
import HTTPClient
import Postgres
import Subprocess
import Testing

@Suite("vcs: Singer tap and target, signed webhooks from the sandbox", .serialized)
struct VCSSingerTests {
    static var bin: String { LaunchedProcess.binDirectory.path }

    /// Runs a shell pipeline with the fixture's environment plus `extra`.
    static func shell(_ script: String, _ environment: [String: String]) throws -> CommandResult {
        try ChildProcess.run(["/bin/bash", "-o", "pipefail", "-c", script], environment: environment)
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
            let piped = try Self.shell(
                "\"$BIN/vcs\" tap | \"$BIN/vcs\" target",
                vcs.environment.merging(["DATABASE_URL": other, "BIN": Self.bin, "LOG_LEVEL": "info"]) { $1 })
            #expect(piped.status == 0, "\(piped.stderr)")
            #expect(piped.stdout.contains("\"type\":\"STATE\""), "the target echoes the committed STATE")
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
        let result = try Self.shell(
            "\"$BIN/vcs\" target --state-key widgets-test < \"$FILE\"",
            ["DATABASE_URL": url, "BIN": Self.bin, "FILE": file.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("rejected record") && result.stderr.contains("size"))
        #expect(
            result.stderr.contains("\"rejected\":\"1\"") || result.stderr.contains("rejected=1")
                || result.stderr.contains("\"rejected\": \"1\""), "\(result.stderr)")
        let states = result.stdout.split(separator: "\n").filter { $0.contains("STATE") }
        #expect(states.count == 2)
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

        let broken = try Self.shell(
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
            let wrong = try Self.shell(send + " --wrong-signature", environment)
            #expect(wrong.status != 0)
            #expect(wrong.stdout.hasPrefix("401"))
            #expect(try await vcs.count("SELECT count(*)::bigint AS n FROM pull_requests") == 0)
            environment["DELIVERY"] = "good-1"
            let signed = try Self.shell(send, environment)
            #expect(signed.status == 0, "\(signed.stdout)\(signed.stderr)")
            #expect(signed.stdout.contains("applied"))
            let replay = try Self.shell(send, environment)
            #expect(replay.stdout.contains("duplicate"))
            #expect(
                try await vcs.count("SELECT count(*)::bigint AS n FROM pull_requests WHERE merged_at IS NOT NULL") == 1)
            #expect(try await vcs.count("SELECT count(*)::bigint AS n FROM webhook_deliveries") == 1)
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
