import Foundation
import HTTPClient
import JSON
import Learning
import Postgres
import Subprocess
import Testing

/// serving's dashboard in a real headless Chromium, driven with Selenium by
/// `Tests/Browser/dashboard_test.py` against the real services on a real
/// Postgres. Screenshots of each page go to `.build/test-artifacts/screenshots`
/// (or `$CONVEYOR_TEST_ARTIFACTS/screenshots`).
@Suite("The dashboard in a real browser", .serialized)
struct DashboardBrowserTests {
    static let script = Trio.repositoryRoot.appendingPathComponent("Tests/Browser/dashboard_test.py").path

    static var screenshots: URL {
        let root =
            ProcessInfo.processInfo.environment["CONVEYOR_TEST_ARTIFACTS"].map { URL(fileURLWithPath: $0) }
            ?? Trio.repositoryRoot.appendingPathComponent(".build/test-artifacts")
        return root.appendingPathComponent("screenshots")
    }

    /// Runs the browser script in `mode` with `expectations`; its failures become this test's.
    static func browse(_ mode: String, base: String, expectations: [String: Any]) async throws {
        let python = try #require(
            ProcessInfo.processInfo.environment["CONVEYOR_TEST_PYTHON"],
            "CONVEYOR_TEST_PYTHON names the test venv's python (deploy/local.sh test sets it)")
        #expect(
            FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver"),
            "Debian's chromium and chromium-driver are installed (deploy/local.sh test installs them)")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("conveyor-expect-\(UUID()).json")
        try JSONSerialization.data(withJSONObject: expectations).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try await CommandRunner.output(
            [python, script, mode, base, file.path, screenshots.path], environment: ["PYTHONUNBUFFERED": "1"])
        #expect(result.status == 0, "\(mode):\n\(result.stdout)\(result.stderr.suffix(4000))")
    }

    @Test(
        "deployed → rejected → failed → deployed → rolled back: home, timeline, charts, compare, runs, predict form, XSS title, docs"
    )
    func historyInTheBrowser() async throws {
        let trio = try await Trio(
            trainerSettings: ["ROLLBACK_CHECK_INTERVAL": "300ms"], servingSettings: ["MONITORING_INTERVAL": "0"])
        do {
            try await scenario(trio)
        } catch {
            Issue.record("\(error)\n\(trio.logs())")
        }
        _ = await trio.stop()
    }

    private func waitForRun(_ trio: Trio, status: String) async throws -> Int64 {
        try await eventually(timeout: 60, "a \(status) run") {
            let (_, runs) = try await trio.get("\(trio.trainerURL)/runs")
            let newest = runs.arrayValue?.first
            return newest?["status"]?.stringValue == status ? newest?["id"]?.integerValue : nil
        }
    }

    private func scenario(_ trio: Trio) async throws {
        let example = try String(
            contentsOf: Trio.repositoryRoot.appendingPathComponent("deploy/example-model/conveyor.yaml"),
            encoding: .utf8)
        func manifest(_ text: String) -> (URL) throws -> Void {
            { try text.write(to: $0.appendingPathComponent("conveyor.yaml"), atomically: true, encoding: .utf8) }
        }
        // 1: deployed (one feature).
        _ = try await trio.get("\(trio.vcsURL)/checkout")
        let first = try await trio.waitForServedPR(1)
        let v1 = try #require(first["version"]?.stringValue)
        // 2: rejected by a gate, under a title that is an XSS attempt.
        let xss = "<script>alert(1)</script>"
        try trio.mergePullRequest(
            title: xss,
            change: manifest(example.replacingOccurrences(of: "rmse: {max: 5.0}", with: "rmse: {max: 0.001}")))
        _ = try await trio.get("\(trio.vcsURL)/checkout")
        _ = try await waitForRun(trio, status: "rejected")
        // 3: failed (a broken manifest).
        try trio.mergePullRequest(title: "a broken manifest", change: manifest("name: ["))
        _ = try await trio.get("\(trio.vcsURL)/checkout")
        let failedRun = try await waitForRun(trio, status: "failed")
        // 4: deployed (four features), with a rollback rule…
        let ruled = example.components(separatedBy: "\nmonitoring:")[0] + RollbackRuleTests.rules
        try trio.mergePullRequest(title: "all four features", change: manifest(ruled))
        _ = try await trio.get("\(trio.vcsURL)/checkout")
        let fourth = try await trio.waitForServedPR(4)
        let v4 = try #require(fourth["version"]?.stringValue)
        // …that trips on bad ground truth: rolled back to v1.
        try await RollbackRuleTests.badFeedback(trio, url: trio.servingURL)
        _ = try await eventually(timeout: 30, "the rollback to \(v1)") {
            try await RollbackRuleTests.served(trio, trio.servingURL) == v1 ? true : nil
        }

        let (_, runs) = try await trio.get("\(trio.trainerURL)/runs")
        let ids = (runs.arrayValue ?? []).compactMap { $0["id"]?.integerValue }.sorted()
        try #require(ids.count == 4, "four runs: \(runs)")
        let database = PostgresClient(url: trio.databaseURL, maxConnections: 1)
        defer { Task { await database.shutdown() } }
        func metrics(_ version: String) async throws -> [String: Double] {
            let text = try await database.query(
                "SELECT metrics::text AS m FROM model_versions WHERE version = \(version)"
            )
            .first?.decode("m", as: String.self)
            return (try JSONValue.parse(Array((text ?? "{}").utf8))).objectValue?.compactMapValues(\.doubleValue) ?? [:]
        }
        let (m1, m4) = (try await metrics(v1), try await metrics(v4))
        let deployedVersions = try await database.query("SELECT count(*)::int AS n FROM model_versions").first?.decode(
            "n", as: Int.self)
        let expectations: [String: Any] = [
            "live": v1,
            "states": [
                "\(ids[0])": "live", "\(ids[1])": "rejected", "\(ids[2])": "failed", "\(ids[3])": "rolled back",
            ],
            "chart_metrics": ["rmse", "r2"], "deployed_versions": deployedVersions ?? -1, "xss_title": xss,
            "compare": [
                "a": v1, "b": v4,
                "metrics": Dictionary(
                    uniqueKeysWithValues: Set(m1.keys).intersection(m4.keys).map { ($0, [m1[$0]!, m4[$0]!]) }),
                "features": ["precipitation": "added", "wind": "added", "weather": "added"],
            ],
            "failed_run": failedRun, "failed_reason": "manifest",
            "out_of_range": ["field": "temp_min", "value": 999],
            "other_docs": [trio.vcsURL, trio.trainerURL],
        ]
        try await Self.browse("trio", base: trio.servingURL, expectations: expectations)
    }

    @Test("a classifier's answer has a probability bar per class; a forecast draws its history, then the horizon")
    func classifierAndForecastForms() async throws {
        let fixture = try await ServingFixture()
        let classifier = try await fixture.deploy(
            manifest: ServingData.classificationManifest, csv: ServingData.classificationCSV, pr: 1)
        let (process, url) = try await fixture.launchServing("serving-browser")
        defer { _ = process.terminate() }
        try await fixture.waitForVersion(classifier, at: url)
        try await Self.browse("classifier", base: url, expectations: ["classes": ["high", "low"]])

        let forecaster = try await fixture.deploy(
            manifest: ServingData.forecastManifest, csv: ServingData.forecastCSV, pr: 2)
        try await fixture.waitForVersion(forecaster, at: url)
        let artifact = try ArtifactStore.load(
            from: fixture.artifacts.appendingPathComponent("visits/\(forecaster)"), expectedSHA256: nil)
        let history = try #require(artifact.forecast?.history.suffix(60).count)
        try await Self.browse("forecast", base: url, expectations: ["horizon": 7, "history_points": history])
        await fixture.shutdown()
    }
}
