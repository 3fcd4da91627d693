import Foundation
import HTTPClient
import JSON
import Postgres
import Testing

/// `monitoring.rollback_when`: the trainer checks each new monitoring report
/// of the live version against its rules and rolls back when one trips.
@Suite("trainer: rollback rules and automatic rollback", .serialized)
struct RollbackRuleTests {
    static let rules = """

        monitoring:
          window: {last: 20}
          rollback_when: {live_rmse: {max: 4.0, min_samples: 10}, drift_share: {max: 1.0}}
        """

    /// Sends 20 predictions to `url` and answers each with an actual 10 °C off: a live RMSE of 10.
    static func badFeedback(_ trio: Trio, url: String) async throws {
        var items: [String] = []
        for index in 0..<20 {
            let body =
                #"{"temp_min": \#(Double(index % 10)), "precipitation": 0.5, "wind": 3, "weather": "rain"}"#
            let (status, answer) = try await trio.post("\(url)/predict", body: body)
            try #require(status == 200, "\(answer)")
            let id = try #require(answer["request_id"]?.stringValue)
            let value = try #require(answer["prediction"]?.doubleValue)
            items.append(#"{"request_id": "\#(id)", "actual": \#(value + 10)}"#)
        }
        let (status, answer) = try await trio.post(
            "\(url)/feedback", body: #"{"feedback": [\#(items.joined(separator: ","))]}"#)
        #expect(status == 200 && answer["recorded"]?.integerValue == 20, "\(answer)")
        let (computed, report) = try await trio.post(
            "\(url)/monitoring/reports", body: "", headers: [("Authorization", "Bearer \(Trio.adminToken)")])
        #expect(computed == 201, "\(report)")
    }

    static func served(_ trio: Trio, _ url: String) async throws -> String? {
        try await trio.get("\(url)/").1["version"]?.stringValue
    }

    @Test(
        "a live RMSE past its rule rolls v3 back to v2 on both replicas, recorded and notified; it does not flap; only an admin redeploys v3"
    )
    func automaticRollback() async throws {
        let (hook, received) = try await ReceivedPosts.hook()
        defer { hook.task.cancel() }
        let trio = try await Trio(
            trainerSettings: ["ROLLBACK_CHECK_INTERVAL": "300ms", "NOTIFY_WEBHOOK_URL": "\(hook.baseURL)/hook"],
            servingSettings: ["MONITORING_INTERVAL": "0"])
        let database = PostgresClient(url: trio.databaseURL, maxConnections: 1)
        defer { Task { await database.shutdown() } }
        do {
            _ = try await trio.get("\(trio.vcsURL)/checkout")
            _ = try await trio.waitForServedPR(1)
            // The example's manifest with these rules in place of its own.
            let example = try String(
                contentsOf: Trio.repositoryRoot.appendingPathComponent("deploy/example-model/conveyor.yaml"),
                encoding: .utf8
            ).components(separatedBy: "\nmonitoring:")[0]
            try trio.mergePullRequest(title: "rollback rules") {
                try (example + Self.rules).write(
                    to: $0.appendingPathComponent("conveyor.yaml"), atomically: true, encoding: .utf8)
            }
            _ = try await trio.get("\(trio.vcsURL)/checkout")
            let v2 = try #require(try await trio.waitForServedPR(2)["version"]?.stringValue)
            try trio.mergePullRequest(title: "retrain") {
                try (example + Self.rules + "\n# retrain\n").write(
                    to: $0.appendingPathComponent("conveyor.yaml"), atomically: true, encoding: .utf8)
            }
            _ = try await trio.get("\(trio.vcsURL)/checkout")
            let v3 = try #require(try await trio.waitForServedPR(3)["version"]?.stringValue)
            let (replica, replicaURL) = try await trio.launchServing("serving-2")
            defer { _ = replica.terminate() }
            _ = try await eventually(timeout: 20, "the second replica to serve v3") {
                try await Self.served(trio, replicaURL) == v3 ? true : nil
            }

            // v3's live RMSE trips its rule: both replicas go back to v2.
            try await Self.badFeedback(trio, url: trio.servingURL)
            for url in [trio.servingURL, replicaURL] {
                _ = try await eventually(timeout: 30, "\(url) to serve v2 again") {
                    try await Self.served(trio, url) == v2 ? true : nil
                }
            }
            let (_, deployments) = try await trio.get("\(trio.servingURL)/deployments")
            let newest = try #require(deployments.arrayValue?.first)
            #expect(newest["kind"]?.stringValue == "rollback")
            #expect(newest["version"]?.stringValue == v2)
            let reason = newest["reason"]?.stringValue ?? ""
            #expect(reason.contains("automatic rollback of \(v3)") && reason.contains("live_rmse 10"), "\(reason)")
            #expect(deployments.arrayValue?.first { $0["version"]?.stringValue == v3 }?["marked_bad"] != nil)
            let notice = try await eventually(timeout: 10, "the rollback notification") {
                await received.bodies.first { $0["from_version"]?.stringValue == v3 }
            }
            #expect(notice["to_version"]?.stringValue == v2)
            #expect(notice["text"]?.stringValue?.contains("rolled back") == true)
            let (_, monitoring) = try await trio.get("\(trio.servingURL)/monitoring")
            let rule = monitoring["rules"]?.arrayValue?.first {
                $0["model_version"]?.stringValue == v3 && $0["rule"]?.stringValue == "live_rmse"
            }
            #expect(rule?["verdict"]?.stringValue == "tripped", "\(monitoring["rules"] ?? .null)")
            #expect(rule?["action"]?.stringValue == "rolled back to \(v2)")
            #expect(rule?["samples"]?.integerValue == 20)
            let metrics = try await trio.http.send(CurlRequest(method: .get, url: "\(trio.trainerURL)/metrics"))
            #expect(metrics.text.contains("conveyor_automatic_rollbacks_total 1"), "\(metrics.text.prefix(400))")
            // The trainer's and vcs's own work, as an operator scrapes it.
            for line in [
                #"conveyor_runs_total{kind="merge",outcome="succeeded"} 3"#,
                #"conveyor_run_stage_seconds_count{stage="train"} 3"#,
                #"conveyor_notifications_total{channel="webhook",result="sent"} 4"#, "conveyor_run_queue_depth 0",
            ] {
                #expect(metrics.text.contains(line), "\(line) in:\n\(metrics.text.prefix(3000))")
            }
            let vcsMetrics = try await trio.http.send(CurlRequest(method: .get, url: "\(trio.vcsURL)/metrics")).text
            for line in [#"conveyor_vcs_syncs_total{outcome="succeeded"} 3"#, "conveyor_vcs_sync_seconds_count 3"] {
                #expect(vcsMetrics.contains(line), "\(line) in:\n\(vcsMetrics.prefix(3000))")
            }
            #expect(vcsMetrics.contains(#"conveyor_vcs_records_total{result="upserted"}"#))

            // No flapping: v2 (restored by the rollback) trips the same rule, and stays.
            try await Self.badFeedback(trio, url: trio.servingURL)
            _ = try await eventually(timeout: 30, "v2's rules to be evaluated") {
                let rows = try await database.query(
                    "SELECT action FROM rule_evaluations WHERE model_version = \(v2) AND verdict = 'tripped'")
                return try rows.first?.decodeIfPresent("action", as: String.self)
            }
            let count = try await database.query("SELECT count(*)::int AS n FROM deployments")
            #expect(try count.first?.decode("n", as: Int.self) == 4, "no second rollback")
            #expect(try await Self.served(trio, trio.servingURL) == v2)
            try await Task.sleep(for: .seconds(1))
            #expect(try await trio.get("\(trio.trainerURL)/runs").1.arrayValue?.count == 3, "v3 is not retrained")

            // Only an explicit admin action redeploys the version marked bad.
            let (refused, _) = try await trio.post("\(trio.servingURL)/deployments", body: #"{"version": "\#(v3)"}"#)
            #expect(refused == 401)
            let (unknown, _) = try await trio.post(
                "\(trio.servingURL)/deployments", body: #"{"version": "no-such-version"}"#,
                headers: [("Authorization", "Bearer \(Trio.adminToken)")])
            #expect(unknown == 404)
            let (badBody, _) = try await trio.post(
                "\(trio.servingURL)/deployments", body: #"{"version": 3}"#,
                headers: [("Authorization", "Bearer \(Trio.adminToken)")])
            #expect(badBody == 422, "a version that is not a string names the field")
            let (accepted, _) = try await trio.post(
                "\(trio.servingURL)/deployments", body: #"{"version": "\#(v3)"}"#,
                headers: [("Authorization", "Bearer \(Trio.adminToken)")])
            #expect(accepted == 202)
            for url in [trio.servingURL, replicaURL] {
                _ = try await eventually(timeout: 30, "\(url) to serve v3 again") {
                    try await Self.served(trio, url) == v3 ? true : nil
                }
            }
            let cleared = try await database.query(
                "SELECT marked_bad_at IS NULL AS clear FROM model_versions WHERE version = \(v3)")
            #expect(try cleared.first?.decode("clear", as: Bool.self) == true)
        } catch {
            Issue.record("\(error)\n\(trio.logs())")
        }
        _ = await trio.stop()
    }
}
