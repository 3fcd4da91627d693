import Foundation
import Logging
import Postgres
import Testing

@Suite("Postgres over libpq")
struct PostgresTests {
    @Test("interpolated values are bound parameters, so quotes cannot inject SQL")
    func parameterizedQuery() async throws {
        let client = PostgresClient(url: try await TestPostgres.freshDatabase())
        defer { Task { await client.shutdown() } }
        try await client.query(
            "CREATE TABLE people (id bigint PRIMARY KEY, name text, score double precision, seen timestamptz)")
        let hostile = "Robert'); DROP TABLE people; --"
        let seen = Date(timeIntervalSince1970: 1_700_000_000.25)
        try await client.query("INSERT INTO people VALUES (\(1), \(hostile), \(2.5), \(seen))")
        let rows = try await client.query("SELECT id, name, score, seen FROM people WHERE name = \(hostile)")
        let row = try #require(rows.first)
        #expect(try row.decode("id", as: Int.self) == 1)
        #expect(try row.decode("name", as: String.self) == hostile)
        #expect(try row.decode("score", as: Double.self) == 2.5)
        #expect(try row.decode("seen", as: Date.self) == seen)
        let optional: String? = nil
        try await client.query("INSERT INTO people VALUES (\(2), \(optional), NULL, NULL)")
        let null = try #require(try await client.query("SELECT name FROM people WHERE id = \(2)").first)
        #expect(try null.decodeIfPresent("name", as: String.self) == nil)
    }

    @Test("an array is one parameter: quotes, backslashes, commas, braces, NULL and timestamps come back as sent")
    func arrayParameters() async throws {
        let client = PostgresClient(url: try await TestPostgres.freshDatabase())
        defer { Task { await client.shutdown() } }
        let texts = ["plain", "a \"quoted\" word", "back\\slash", "comma, {brace}", "NULL", "", " spaced "]
        let rows = try await client.query(
            "SELECT t, o FROM unnest(\(texts)::text[]) WITH ORDINALITY AS u(t, o) ORDER BY o")
        #expect(try rows.map { try $0.decode("t", as: String.self) } == texts)
        let times = [Date(timeIntervalSince1970: 1_796_601_600), Date(timeIntervalSince1970: 1_796_601_610.25)]
        let found = try await client.query("SELECT unnest(\(times)::timestamptz[]) AS at")
        #expect(try found.map { try $0.decode("at", as: Date.self) } == times)
        let empty: [String] = []
        let none = try #require(try await client.query("SELECT cardinality(\(empty)::text[]) AS n").first)
        #expect(try none.decode("n", as: Int.self) == 0)
    }

    @Test("decoding errors name the column and the problem")
    func decodingErrorsNameTheColumn() async throws {
        let client = PostgresClient(url: try await TestPostgres.freshDatabase())
        defer { Task { await client.shutdown() } }
        let row = try #require(try await client.query("SELECT 'abc'::text AS label, NULL::int AS missing").first)
        #expect(throws: PostgresError.self) { try row.decode("label", as: Int.self) }
        do {
            _ = try row.decode("missing", as: Int.self)
            Issue.record("NULL decoded as Int")
        } catch let error as PostgresError {
            #expect(error.description.contains("\"missing\""))
            #expect(error.description.contains("NULL"))
        }
        do {
            _ = try await client.query("SELECT nope FROM nowhere")
            Issue.record("bad SQL succeeded")
        } catch let error as PostgresError {
            #expect(error.sqlState == "42P01")
        }
    }

    @Test("COPY FROM STDIN loads rows with tabs, newlines, backslashes and NULLs")
    func copyIn() async throws {
        let client = PostgresClient(url: try await TestPostgres.freshDatabase())
        defer { Task { await client.shutdown() } }
        try await client.query("CREATE TABLE lines (n int, body text)")
        let rows: [[String?]] = (0..<5000).map { ["\($0)", $0 % 100 == 0 ? nil : "line\t\($0)\nnext\\end"] }
        let copied = try await client.withConnection {
            try $0.copyIn(table: "lines", columns: ["n", "body"], rows: rows)
        }
        #expect(copied == 5000)
        let stats = try #require(
            try await client.query("SELECT count(*) AS total, count(body) AS bodies FROM lines").first)
        #expect(try stats.decode("total", as: Int.self) == 5000)
        #expect(try stats.decode("bodies", as: Int.self) == 4950)
        let one = try #require(try await client.query("SELECT body FROM lines WHERE n = \(7)").first)
        #expect(try one.decode("body", as: String.self) == "line\t7\nnext\\end")
    }

    @Test("a transaction that throws is rolled back")
    func transactionRollsBack() async throws {
        let client = PostgresClient(url: try await TestPostgres.freshDatabase())
        defer { Task { await client.shutdown() } }
        try await client.query("CREATE TABLE ledger (amount int)")
        struct Abort: Error {}
        await #expect(throws: Abort.self) {
            try await client.transaction { connection in
                try connection.query("INSERT INTO ledger VALUES (\(100))")
                throw Abort()
            }
        }
        try await client.transaction { try $0.query("INSERT INTO ledger VALUES (\(5))") }
        let total = try #require(
            try await client.query("SELECT coalesce(sum(amount), 0)::int AS total FROM ledger").first)
        #expect(try total.decode("total", as: Int.self) == 5)
    }

    @Test("more concurrent callers than connections all complete")
    func poolQueuesCallers() async throws {
        let client = PostgresClient(url: try await TestPostgres.freshDatabase(), maxConnections: 2)
        defer { Task { await client.shutdown() } }
        let sum = try await withThrowingTaskGroup(of: Int.self) { group in
            for value in 1...40 {
                group.addTask {
                    let row = try await client.query("SELECT \(value)::int AS v, pg_sleep(0.01)").first
                    return try row?.decode("v", as: Int.self) ?? 0
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(sum == 820)
    }

    @Test("NOTIFY reaches a listener")
    func notifyRoundTrip() async throws {
        let url = try await TestPostgres.freshDatabase()
        let client = PostgresClient(url: url)
        defer { Task { await client.shutdown() } }
        var events = client.listen("test_channel").makeAsyncIterator()
        #expect(await events.next() == .connected(reconnected: false))
        try await client.notify("test_channel", payload: "hello 'world'")
        let event = await events.next()
        guard case .notification(let notification) = event else {
            Issue.record("expected a notification, got \(String(describing: event))")
            return
        }
        #expect(notification.channel == "test_channel")
        #expect(notification.payload == "hello 'world'")
    }

    @Test("a listener keeps working across a Postgres restart")
    func listenerSurvivesRestart() async throws {
        let server = try TestPostgres()
        defer { server.destroy() }
        let listening = PostgresClient(url: server.url)
        var events = listening.listen("restarts").makeAsyncIterator()
        #expect(await events.next() == .connected(reconnected: false))

        try server.stop()
        try server.start()
        #expect(await events.next() == .connected(reconnected: true))

        let client = PostgresClient(url: server.url)
        try await client.notify("restarts", payload: "after")
        guard case .notification(let notification) = await events.next() else {
            Issue.record("no notification after the restart")
            return
        }
        #expect(notification.payload == "after")
        await client.shutdown()
        await listening.shutdown()
    }

    @Test("after a Postgres restart the pool's idle connections are replaced, not handed out dead")
    func poolSurvivesRestart() async throws {
        let server = try TestPostgres()
        defer { server.destroy() }
        let client = PostgresClient(url: server.url, maxConnections: 2)
        // Two connections open and go back to the pool idle.
        async let first = client.query("SELECT pg_sleep(0.05), 1 AS n")
        async let second = client.query("SELECT pg_sleep(0.05), 2 AS n")
        _ = try await (first, second)
        try server.stop()
        try server.start()
        for attempt in 1...3 {
            let rows = try await client.query("SELECT \(attempt)::int AS n")
            #expect(try rows.first?.decode("n", as: Int.self) == attempt)
        }
        await client.shutdown()
    }
}
