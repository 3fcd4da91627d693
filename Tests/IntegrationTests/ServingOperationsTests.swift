import Foundation
import HTTPClient
import Postgres
import Testing

@Suite("serving: rollback across replicas, prediction log through a Postgres outage", .serialized)
struct ServingOperationsTests {
    @Test("a rollback on one replica is followed by every replica")
    func rollbackFollowedByEveryReplica() async throws {
        let fixture = try await ServingFixture()
        let first = try await fixture.deploy(
            manifest: ServingData.regressionManifest, csv: ServingData.regressionCSV, pr: 1)
        let second = try await fixture.deploy(
            manifest: ServingData.regressionManifest, csv: ServingData.regressionCSV, pr: 2)
        let (replicaA, urlA) = try await fixture.launchServing("serving-a", settings: ["POLL_INTERVAL": "60s"])
        let (replicaB, urlB) = try await fixture.launchServing("serving-b", settings: ["POLL_INTERVAL": "60s"])
        defer {
            _ = replicaA.terminate()
            _ = replicaB.terminate()
        }
        try await fixture.waitForVersion(second, at: urlA)
        try await fixture.waitForVersion(second, at: urlB)

        let (refused, _) = try await fixture.json("POST", "\(urlA)/deployments/rollback")
        #expect(refused == 401)
        let (status, body) = try await fixture.json(
            "POST", "\(urlA)/deployments/rollback", headers: [("Authorization", "Bearer \(ServingFixture.adminToken)")])
        #expect(status == 202, "\(body)")
        #expect(body["rolled_back_to"]?.stringValue == first)
        // NOTIFY, not the 60 s poll, brings both replicas to the earlier version.
        try await fixture.waitForVersion(first, at: urlA, timeout: 15)
        try await fixture.waitForVersion(first, at: urlB, timeout: 15)
        let (_, answer) = try await fixture.json("POST", "\(urlB)/predict", body: #"{"a": 1, "b": 1, "colour": "red"}"#)
        #expect(answer["model_version"]?.stringValue == first)
        let (_, history) = try await fixture.json("GET", "\(urlB)/deployments")
        #expect(history.arrayValue?.first?["reason"]?.stringValue == "rollback")
        #expect(history.arrayValue?.count == 3)
        await fixture.shutdown()
    }

    /// `conveyor_prediction_log_spilled_batches_total` on serving's `/metrics`.
    static func spilledBatches(_ fixture: ServingFixture, _ url: String) async throws -> Double {
        let metrics = String(decoding: try await fixture.request("GET", "\(url)/metrics").body, as: UTF8.self)
        let line = metrics.split(separator: "\n").first {
            $0.hasPrefix("conveyor_prediction_log_spilled_batches_total")
        }
        return line?.split(separator: " ").last.flatMap { Double($0) } ?? 0
    }

    @Test("every prediction served while Postgres was stopped and restarted is logged exactly once")
    func predictionLogSurvivesOutage() async throws {
        let server = try TestPostgres()
        defer { server.destroy() }
        let admin = PostgresClient(url: server.url, maxConnections: 1)
        try await admin.withConnection { try $0.execute("CREATE DATABASE outage") }
        await admin.shutdown()
        let fixture = try await ServingFixture(databaseURL: server.url(database: "outage"))
        let version = try await fixture.deploy(
            manifest: ServingData.regressionManifest, csv: ServingData.regressionCSV, pr: 1)
        let (serving, url) = try await fixture.launchServing("serving")
        defer { _ = serving.terminate() }
        try await fixture.waitForVersion(version, at: url)
        await fixture.database.shutdown()

        let counts = LoadCounts()
        let stop = StopFlag()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    while !stop.isSet {
                        let response = try? await fixture.request(
                            "POST", "\(url)/predict", body: #"{"a": 1, "b": 2, "colour": "blue"}"#)
                        counts.state.withLock { counts in
                            if response?.status == 200 { counts.ok += 1 } else { counts.failed += 1 }
                        }
                    }
                }
            }
            // The phases follow events, not the clock (a loaded CI machine answers slowly):
            // predictions before the outage, during it until a log batch was spilled, and after it.
            group.addTask {
                defer { stop.set() }
                func served(_ more: Int, _ phase: String) async throws {
                    let target = counts.state.withLock { $0.ok } + more
                    _ = try await eventually(timeout: 120, "\(more) predictions \(phase)") {
                        counts.state.withLock { $0.ok } >= target ? true : nil
                    }
                }
                try await served(10, "before the outage")
                try server.stop()
                try await served(20, "while Postgres is down")
                _ = try await eventually(timeout: 120, "a log batch spilled while Postgres is down") {
                    try await Self.spilledBatches(fixture, url) > 0 ? true : nil
                }
                try server.start()
                try await served(20, "after Postgres is back")
            }
            try await group.waitForAll()
        }
        let served = counts.state.withLock { $0 }
        #expect(served.failed == 0, "requests failed during the outage")
        #expect(served.ok >= 50, "only \(served.ok) predictions")
        let check = PostgresClient(url: fixture.databaseURL, maxConnections: 1)
        let logged = try await eventually(timeout: 30, "the log to hold every prediction") {
            let rows = try await check.query("SELECT count(*)::bigint AS n FROM prediction_log")
            let count = try rows.first?.decode("n", as: Int64.self) ?? 0
            return count >= served.ok ? count : nil
        }
        #expect(logged == Int64(served.ok))
        let distinct = try await check.query("SELECT count(DISTINCT request_id)::bigint AS n FROM prediction_log")
        #expect(try distinct.first?.decode("n", as: Int64.self) == logged)
        #expect(try await Self.spilledBatches(fixture, url) > 0, "no batch was spilled")
        await check.shutdown()
        await fixture.http.shutdown()
    }
}
