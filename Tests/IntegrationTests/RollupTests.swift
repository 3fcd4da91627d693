import Foundation
import JSON
import Logging
import Postgres
import Testing

@testable import ServingService

/// Monitoring's rollups (10-second periods binned once, `RollupSealer`) must
/// change how fast a report is, never what it says: the same window read raw
/// and read from sealed periods gives the same rows, start and statistics,
/// also after rows reach a sealed period late.
@Suite("monitoring rollups: sealed periods report what the raw log reports", .serialized)
struct RollupTests {
    /// The example model deployed with a window of the last `window` predictions, and serving's parts in process.
    static func parts(window: Int) async throws -> (ServingFixture, ServingApp.Parts, String) {
        let fixture = try await ServingFixture()
        let manifest = try String(
            contentsOf: MonitoringTests.example.appendingPathComponent("conveyor.yaml"), encoding: .utf8
        )
        .replacingOccurrences(of: "data/seattle-weather.csv", with: "data.csv")
        .replacingOccurrences(of: "monitoring:\n", with: "monitoring:\n  window: {last: \(window)}\n")
        let version = try await fixture.deploy(manifest: manifest, csv: try MonitoringTests.exampleCSV(), pr: 1)
        let configuration = ServingConfiguration(
            logLevel: .info, databaseURL: fixture.databaseURL, artifactsDirectory: fixture.artifacts, port: 0,
            server: .init(), adminToken: nil, pollInterval: .seconds(60), maxBodyBytes: 1 << 20, maxInstances: 100,
            spillDirectory: fixture.directory.appendingPathComponent("spill"), monitoringInterval: .zero,
            rollupInterval: .zero)
        let parts = try ServingApp.Parts(
            configuration: configuration, database: fixture.database, logger: Logger(label: "test"))
        await parts.watcher.refresh()
        try #require(parts.store.model?.deployment.version == version)
        return (fixture, parts, version)
    }

    /// Logs `count` requests of 1–3 training rows each, `spacing` seconds apart, the newest `newest` seconds ago.
    static func log(
        _ database: PostgresClient, version: String, count: Int, spacing: Double, newest: Double, tag: String
    ) async throws {
        let (train, _, _) = try MonitoringTests.exampleRows()
        let now = Date()
        func json(_ value: JSONValue) throws -> String {
            String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
        }
        let rows = try (0..<count).map { index -> [String?] in
            let instances = (0..<(index % 3 + 1)).map { train[(index * 7 + $0 * 13) % train.count] }
            let inputs = JSONValue.array(instances.map(JSONValue.object))
            let outputs = JSONValue.array(
                instances.map { .number(($0["temp_min"]?.doubleValue ?? 0) + 8 + Double(index % 5)) })
            let at = now.addingTimeInterval(-newest - Double(count - 1 - index) * spacing)
            return [
                at.postgresText, "\(tag)-\(index)", version, try json(inputs), try json(outputs), "40",
            ]
        }
        try await database.withConnection { connection in
            _ = try connection.copyIn(
                table: "prediction_log",
                columns: ["logged_at", "request_id", "model_version", "inputs", "outputs", "latency_us"], rows: rows)
        }
    }

    /// A report's figures that rollups must not change: exact counts and
    /// shares, and the statistics (sums of the same values added in another
    /// order may differ in their last bits).
    struct Figures: Equatable, CustomStringConvertible {
        let exact: [String]
        let statistics: [String: Double]

        init(_ report: MonitoringReport) {
            var exact = [
                "rows \(report.rows)", "start \(report.windowStart.map { "\($0.timeIntervalSince1970)" } ?? "-")",
                "drifted \(report.driftedFeatures)",
            ]
            var statistics: [String: Double] = [:]
            for feature in report.features + [report.prediction].compactMap({ $0 }) {
                exact.append("\(feature.feature): missing \(feature.missingShare) outside \(feature.outOfRangeShare)")
                for (key, value) in feature.statistics { statistics["\(feature.feature).\(key)"] = value }
            }
            self.exact = exact
            self.statistics = statistics
        }

        static func == (a: Figures, b: Figures) -> Bool {
            a.exact == b.exact && a.statistics.keys.sorted() == b.statistics.keys.sorted()
                && a.statistics.allSatisfy { key, value in
                    let other = b.statistics[key] ?? .nan
                    return value == other || abs(value - other) <= 1e-9 * max(1, abs(value))
                }
        }

        var description: String {
            (exact + statistics.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }).joined(separator: "; ")
        }
    }

    static func rollupState(_ database: PostgresClient) async throws -> (sealed: Date?, periods: Int, dirty: Int) {
        let row = try await database.query(
            """
            SELECT (SELECT sealed_until FROM prediction_rollup_state) AS sealed,
                (SELECT count(*) FROM prediction_rollup_periods) AS periods,
                (SELECT count(*) FROM prediction_rollup_dirty) AS dirty
            """
        ).first
        return (
            try row?.decodeIfPresent("sealed", as: Date.self), try row?.decode("periods") ?? 0,
            try row?.decode("dirty") ?? 0
        )
    }

    /// Forgets every rollup: the next report reads the whole window raw.
    static func unseal(_ database: PostgresClient) async throws {
        try await database.transaction { connection in
            try connection.execute("DELETE FROM prediction_rollups")
            try connection.execute("DELETE FROM prediction_rollup_periods")
            try connection.execute("DELETE FROM prediction_rollup_dirty")
            try connection.execute("UPDATE prediction_rollup_state SET sealed_until = NULL")
        }
    }

    @Test(
        "a 5,000-prediction window over 30 minutes: raw, sealed and with late rows in sealed periods give the same report"
    )
    func sealedEqualsRaw() async throws {
        let (fixture, parts, version) = try await Self.parts(window: 5000)
        defer { Task { await fixture.shutdown() } }
        // 6,000 requests (about 12,000 predictions) over the last 30 minutes.
        try await Self.log(fixture.database, version: version, count: 6000, spacing: 0.3, newest: 1, tag: "steady")

        let raw = try #require(try await parts.monitor.compute().first)
        #expect(raw.rows >= 5000 && raw.rows <= 5002, "the window holds the last 5000 predictions: \(raw.rows)")
        #expect(try await Self.rollupState(fixture.database).sealed == nil, "nothing sealed yet: read raw")

        let started = Date()
        let sealedPeriods = try await parts.rollups.catchUp()
        let state = try await Self.rollupState(fixture.database)
        #expect(sealedPeriods >= 180, "30 minutes of 10-second periods: \(sealedPeriods)")
        #expect(state.periods == 180 || state.periods == 181, "periods holding rows: \(state.periods)")
        // Up to the period that was complete when it started (2 s settled, 10 s periods).
        #expect((state.sealed ?? .distantPast) >= started.addingTimeInterval(-12), "sealed up to now: \(state)")
        let sealed = try #require(try await parts.monitor.compute().first)
        #expect(Figures(sealed) == Figures(raw))

        // Rows that reach sealed periods late (a spill replay) unseal them; the report counts them raw.
        try await Self.log(fixture.database, version: version, count: 300, spacing: 0.5, newest: 200, tag: "late")
        let late = try await Self.rollupState(fixture.database)
        #expect(late.dirty >= 15, "the late rows' periods are dirty: \(late)")
        #expect(late.periods <= state.periods - 15, "and no longer sealed: \(late)")
        let withDirty = try #require(try await parts.monitor.compute().first)
        try await Self.unseal(fixture.database)
        let rawAgain = try #require(try await parts.monitor.compute().first)
        #expect(Figures(withDirty) == Figures(rawAgain))
        #expect(Figures(rawAgain) != Figures(raw), "the late rows changed the window")

        // Sealed again from scratch, dirty periods included, it still agrees.
        try await parts.rollups.catchUp()
        #expect(try await Self.rollupState(fixture.database).dirty == 0)
        let resealed = try #require(try await parts.monitor.compute().first)
        #expect(Figures(resealed) == Figures(rawAgain))
    }

    @Test("rows written while periods are sealed are never lost: 40 batches into sealed and open periods, 40 rounds")
    func concurrentWrites() async throws {
        let (fixture, parts, version) = try await Self.parts(window: 1_000_000)
        defer { Task { await fixture.shutdown() } }
        let (database, rollups) = (fixture.database, parts.rollups)
        try await Self.log(database, version: version, count: 3000, spacing: 0.5, newest: 1, tag: "base")
        try await parts.rollups.catchUp()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                // Each batch reaches back almost 6 minutes (sealed periods) from up to 12 s ago (open ones).
                for batch in 0..<40 {
                    try await Self.log(
                        database, version: version, count: 50, spacing: 7, newest: Double(batch % 5) * 3,
                        tag: "race-\(batch)")
                }
            }
            group.addTask { for _ in 0..<40 { try await rollups.catchUp() } }
            try await group.waitForAll()
        }
        try await parts.rollups.catchUp()
        let sealed = try #require(try await parts.monitor.compute().first)
        // Request i of a batch answers i % 3 + 1 predictions.
        let instances = { (count: Int) in (0..<count).reduce(0) { $0 + $1 % 3 + 1 } }
        #expect(sealed.rows == instances(3000) + 40 * instances(50), "every logged prediction is in the window")
        try await Self.unseal(database)
        let raw = try #require(try await parts.monitor.compute().first)
        #expect(Figures(sealed) == Figures(raw))
    }

    @Test(
        "an insert not yet committed into a period about to be sealed holds the sealing back until it commits, and is counted"
    )
    func sealingWaitsForOpenInserts() async throws {
        let (fixture, parts, version) = try await Self.parts(window: 1_000_000)
        defer { Task { await fixture.shutdown() } }
        let (database, rollups) = (fixture.database, parts.rollups)
        try await Self.log(database, version: version, count: 600, spacing: 0.5, newest: 1, tag: "base")
        try await rollups.catchUp()
        // Take the last minute back out of the rollups, as if it had not been sealed yet.
        let reopened = try #require(
            try await database.query(
                """
                UPDATE prediction_rollup_state SET sealed_until = sealed_until - interval '60 seconds'
                RETURNING sealed_until
                """
            ).first?.decode("sealed_until", as: Date.self))
        try await database.query("DELETE FROM prediction_rollup_periods WHERE period >= \(reopened)")
        try await database.query("DELETE FROM prediction_rollups WHERE period >= \(reopened)")

        // A writer's transaction logs a request into that minute and has not committed yet.
        let writer = try PostgresConnection(url: fixture.databaseURL)
        defer { writer.close() }
        try writer.execute("BEGIN")
        try writer.query(
            """
            INSERT INTO prediction_log (logged_at, request_id, model_version, inputs, outputs, latency_us)
            VALUES (\(reopened.addingTimeInterval(5)), 'open-insert', \(version),
                '[{"temp_min": 30, "precipitation": 0, "wind": 2, "weather": "sun"}]', '[40]', 40)
            """)
        let sealing = Task { try await rollups.catchUp() }
        try await Task.sleep(for: .milliseconds(500))
        let waiting = try await database.query(
            """
            SELECT count(*) AS n FROM pg_locks
            WHERE locktype = 'advisory' AND NOT granted
                AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
            """)
        #expect(try waiting.first?.decode("n", as: Int.self) == 1, "the sealing waits for the writer")
        try writer.execute("COMMIT")
        #expect(try await sealing.value >= 6, "the reopened minute is sealed once the writer commits")

        let sealed = try #require(try await parts.monitor.compute().first)
        try await Self.unseal(database)
        let raw = try #require(try await parts.monitor.compute().first)
        #expect(sealed.rows == raw.rows, "the committed request is counted: \(sealed.rows) against \(raw.rows)")
        #expect(Figures(sealed) == Figures(raw))
    }
}
