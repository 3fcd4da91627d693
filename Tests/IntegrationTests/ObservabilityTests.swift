import Foundation
import HTTPClient
import JSON
import Subprocess
import Testing
import Yams

/// `deploy/observability/`: the alert rules pass Prometheus's own checks and
/// unit tests, and every metric the rules and the Grafana dashboard use is
/// really exported by the running services, in an exposition Prometheus parses.
@Suite("Operations: metrics, alert rules and the dashboard", .serialized)
struct ObservabilityTests {
    static let directory = Trio.repositoryRoot.appendingPathComponent("deploy/observability")

    /// Debian's `prometheus` package ships it (`deploy/local.sh test` installs it).
    static var promtool: String {
        ProcessInfo.processInfo.environment["PROMTOOL"] ?? "promtool"
    }

    static func run(_ arguments: [String], in directory: URL = Self.directory) async throws -> CommandResult {
        try await CommandRunner.output(["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", directory.path] + arguments)
    }

    static func yaml(_ name: String) throws -> [String: Any] {
        let text = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
        return try #require(try Yams.load(yaml: text) as? [String: Any])
    }

    /// Alert name → PromQL expression, from `alerts.yaml`.
    static func alertExpressions() throws -> [String: String] {
        let groups = try #require(try yaml("alerts.yaml")["groups"] as? [[String: Any]])
        var alerts: [String: String] = [:]
        for group in groups {
            for rule in group["rules"] as? [[String: Any]] ?? [] {
                if let name = rule["alert"] as? String { alerts[name] = rule["expr"] as? String ?? "" }
            }
        }
        return alerts
    }

    /// Every PromQL expression of the dashboard's panels, by panel title.
    static func dashboardExpressions() throws -> [(panel: String, expr: String)] {
        let data = try Data(contentsOf: directory.appendingPathComponent("grafana/dashboards/conveyor.json"))
        let dashboard = try JSONValue.parse(Array(data))
        return (dashboard["panels"]?.arrayValue ?? []).flatMap { panel in
            (panel["targets"]?.arrayValue ?? []).compactMap { target in
                target["expr"]?.stringValue.map { (panel["title"]?.stringValue ?? "?", $0) }
            }
        }
    }

    /// The metric names an expression uses: Conveyor's, the HTTP server's and the process's.
    static func metricNames(in expression: String) -> Set<String> {
        let pattern = /\b((?:conveyor|http_server|process)_[a-z0-9_]+)\b/
        return Set(expression.matches(of: pattern).map { String($0.output.1) })
    }

    @Test("promtool checks the rules and the Prometheus config, and every alert has a unit test that fires it")
    func alertRulesPassPromtool() async throws {
        let check = try await Self.run([Self.promtool, "check", "rules", "alerts.yaml"])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        let alerts = try Self.alertExpressions()
        #expect(check.stdout.contains("SUCCESS: \(alerts.count) rules found"), "\(check.stdout)")

        let unit = try await Self.run([Self.promtool, "test", "rules", "alerts.test.yaml"])
        #expect(unit.status == 0, "\(unit.stdout)\(unit.stderr)")
        #expect(unit.stdout.contains("SUCCESS"))

        // Each alert is expected to fire at least once, and to stay quiet at least once.
        let tests = try #require(try Self.yaml("alerts.test.yaml")["tests"] as? [[String: Any]])
        let cases = tests.flatMap { $0["alert_rule_test"] as? [[String: Any]] ?? [] }
        let firing = Set(
            cases.filter { !($0["exp_alerts"] as? [Any] ?? []).isEmpty }.compactMap { $0["alertname"] as? String })
        let quiet = Set(
            cases.filter { ($0["exp_alerts"] as? [Any] ?? []).isEmpty }.compactMap { $0["alertname"] as? String })
        #expect(
            Set(alerts.keys).subtracting(firing).isEmpty,
            "never fired: \(Set(alerts.keys).subtracting(firing).sorted())")
        #expect(
            Set(alerts.keys).subtracting(quiet).isEmpty,
            "never checked quiet: \(Set(alerts.keys).subtracting(quiet).sorted())")

        // The compose profile's Prometheus config, with the rules where the container mounts them.
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
            "conveyor-prom-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let config = try String(contentsOf: Self.directory.appendingPathComponent("prometheus.yml"), encoding: .utf8)
            .replacingOccurrences(
                of: "/etc/prometheus/alerts.yaml", with: Self.directory.appendingPathComponent("alerts.yaml").path)
        try config.write(to: scratch.appendingPathComponent("prometheus.yml"), atomically: true, encoding: .utf8)
        let configCheck = try await Self.run([Self.promtool, "check", "config", "prometheus.yml"], in: scratch)
        #expect(configCheck.status == 0, "\(configCheck.stdout)\(configCheck.stderr)")
    }

    @Test("the dashboard has a row per service and every panel queries the provisioned data source")
    func dashboardIsWellFormed() throws {
        let data = try Data(contentsOf: Self.directory.appendingPathComponent("grafana/dashboards/conveyor.json"))
        let dashboard = try JSONValue.parse(Array(data))
        let panels = try #require(dashboard["panels"]?.arrayValue)
        let rows = panels.filter { $0["type"]?.stringValue == "row" }.compactMap { $0["title"]?.stringValue }
        for service in ["vcs", "trainer", "serving"] {
            #expect(rows.contains { $0.hasPrefix(service) }, "no row for \(service) in \(rows)")
        }
        let source = try Self.yaml("grafana/provisioning/datasources/prometheus.yaml")
        let uid = try #require((source["datasources"] as? [[String: Any]])?.first?["uid"] as? String)
        var ids: Set<Int64> = []
        for panel in panels where panel["type"]?.stringValue != "row" {
            let title = panel["title"]?.stringValue ?? "?"
            #expect(panel["datasource"]?["uid"]?.stringValue == uid, "\(title) queries another data source")
            let queries = panel["targets"]?.arrayValue ?? []
            #expect(queries.count > 0, "\(title) has no query")
            let grid = panel["gridPos"]
            let x = grid?["x"]?.integerValue ?? -1
            let width = grid?["w"]?.integerValue ?? 0
            #expect(x >= 0 && width > 0 && x + width <= 24, "\(title) lies outside the 24-column grid")
            if let id = panel["id"]?.integerValue { #expect(ids.insert(id).inserted, "panel id \(id) twice") }
        }
        let provider = try Self.yaml("grafana/provisioning/dashboards/conveyor.yaml")
        let path = (provider["providers"] as? [[String: Any]])?.first?["options"] as? [String: Any]
        #expect(path?["path"] as? String == "/var/lib/grafana/dashboards")
    }

    @Test(
        "after a small end-to-end scenario, all three services' /metrics parse with promtool and hold every metric the rules and the dashboard use"
    )
    func scrapedMetricsCoverRulesAndDashboard() async throws {
        let trio = try await Trio()
        do {
            try await scenario(trio)
        } catch {
            Issue.record("\(error)\n\(trio.logs())")
        }
        _ = await trio.stop()
    }

    private func scenario(_ trio: Trio) async throws {
        // A deployment, a rejected run and a failed run, so every run series exists.
        _ = try await trio.get("\(trio.vcsURL)/checkout")
        _ = try await trio.waitForServedPR(1)
        let manifest = Trio.repositoryRoot.appendingPathComponent("deploy/example-model/conveyor.yaml")
        let example = try String(contentsOf: manifest, encoding: .utf8)
        try trio.mergePullRequest(title: "an impossible gate") { repository in
            try example.replacingOccurrences(of: "rmse: {max: 5.0}", with: "rmse: {max: 0.001}")
                .write(to: repository.appendingPathComponent("conveyor.yaml"), atomically: true, encoding: .utf8)
        }
        _ = try await trio.get("\(trio.vcsURL)/checkout")
        try await waitForRun(trio, status: "rejected")
        try trio.mergePullRequest(title: "a broken manifest") { repository in
            try "name: [".write(
                to: repository.appendingPathComponent("conveyor.yaml"), atomically: true, encoding: .utf8)
        }
        _ = try await trio.get("\(trio.vcsURL)/checkout")
        try await waitForRun(trio, status: "failed")

        // Predictions, refused requests, ground truth and a monitoring report (drift and live gauges).
        try await RollbackRuleTests.badFeedback(trio, url: trio.servingURL)
        let (invalid, _) = try await trio.post("\(trio.servingURL)/predict", body: #"{"wind": 3}"#)
        #expect(invalid == 422)
        let (malformed, _) = try await trio.post("\(trio.servingURL)/predict", body: "{")
        #expect(malformed == 400)
        // A webhook vcs must refuse (no secret is configured).
        let (refused, _) = try await trio.post(
            "\(trio.vcsURL)/webhook", body: "{}",
            headers: [("X-GitHub-Event", "pull_request"), ("X-Hub-Signature-256", "sha256=00")])
        #expect(refused >= 400)
        _ = try await trio.get("\(trio.trainerURL)/runs")

        var scraped: [String: Set<String>] = [:]
        for (service, url) in [("vcs", trio.vcsURL), ("trainer", trio.trainerURL), ("serving", trio.servingURL)] {
            let text = try await trio.http.send(CurlRequest(url: "\(url)/metrics")).text
            try await checkWithPromtool(text, service: service)
            #expect(text.contains(#"conveyor_build_info{service="\#(service)""#), "\(service) has no build info")
            scraped[service] = Self.seriesNames(text)
        }
        let all = scraped.values.reduce(into: Set<String>()) { $0.formUnion($1) }

        for (alert, expression) in try Self.alertExpressions() {
            let missing = Self.metricNames(in: expression).subtracting(all)
            #expect(missing.isEmpty, "alert \(alert) uses \(missing.sorted()), which no service exports")
        }
        let dashboard = try Self.dashboardExpressions()
        #expect(dashboard.count > 20)
        for (panel, expression) in dashboard {
            let missing = Self.metricNames(in: expression).subtracting(all)
            #expect(missing.isEmpty, "panel \(panel) uses \(missing.sorted()), which no service exports")
        }
        // Each service's own families are in its own scrape.
        for (service, names) in [
            ("vcs", ["conveyor_vcs_syncs_total", "conveyor_singer_rows_total", "conveyor_webhook_deliveries_total"]),
            ("trainer", ["conveyor_runs_total", "conveyor_run_gate_rejections_total", "conveyor_deployed_model_info"]),
            (
                "serving",
                ["conveyor_live_model_info", "conveyor_prediction_rejections_total", "conveyor_feature_drifted"]
            ),
        ] {
            let missing = Set(names).subtracting(scraped[service] ?? [])
            #expect(missing.isEmpty, "\(service) does not export \(missing.sorted())")
        }
        let vcs = try await trio.http.send(CurlRequest(url: "\(trio.vcsURL)/metrics")).text
        #expect(vcs.contains(#"conveyor_webhook_deliveries_total{event="pull_request",result="refused"} 1"#))
        let trainer = try await trio.http.send(CurlRequest(url: "\(trio.trainerURL)/metrics")).text
        for line in [
            #"conveyor_runs_total{kind="merge",outcome="rejected"} 1"#,
            #"conveyor_run_gate_rejections_total{gate="rmse.max"} 1"#,
            #"conveyor_run_failures_total{stage="manifest"} 1"#, "conveyor_runs_failed_in_a_row 1",
        ] {
            #expect(trainer.contains(line), "\(line) in:\n\(trainer.prefix(4000))")
        }
        let serving = try await trio.http.send(CurlRequest(url: "\(trio.servingURL)/metrics")).text
        #expect(serving.contains(#"conveyor_prediction_rejections_total{reason="invalid_input"} 1"#))
        #expect(serving.contains(#"conveyor_prediction_rejections_total{reason="malformed"} 1"#))
    }

    /// Waits until the newest run has `status`.
    private func waitForRun(_ trio: Trio, status: String) async throws {
        _ = try await eventually(timeout: 60, "a \(status) run") {
            let (_, runs) = try await trio.get("\(trio.trainerURL)/runs")
            return runs.arrayValue?.first?["status"]?.stringValue == status ? true : nil
        }
    }

    /// `promtool check metrics` parses the exposition with Prometheus's own
    /// parser (exit 1 on a parse error) and lints it (exit 3); the only lint
    /// allowed is the missing help text swift-metrics cannot carry.
    private func checkWithPromtool(_ text: String, service: String) async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("conveyor-\(service)-\(UUID()).prom")
        try text.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try await CommandRunner.output([
            "/bin/sh", "-c", "\"$0\" check metrics < \"$1\"", Self.promtool, file.path,
        ])
        #expect(result.status == 0 || result.status == 3, "\(service): \(result.stdout)\(result.stderr)")
        let problems = (result.stdout + result.stderr).split(separator: "\n").filter { !$0.hasSuffix("no help text") }
        #expect(problems.isEmpty, "\(service)'s /metrics: \(problems)")
    }

    /// The metric names in an exposition, histograms also under their family name.
    static func seriesNames(_ text: String) -> Set<String> {
        var names: Set<String> = []
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let name = line.split(whereSeparator: { $0 == "{" || $0 == " " }).first else { continue }
            names.insert(String(name))
            for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
                names.insert(String(name.dropLast(suffix.count)))
            }
        }
        return names
    }
}
