import Foundation
import HTTPClient
import JSON
import Learning
import Migrations
import Postgres
import Registry
import Subprocess
import TrainerService

/// A migrated database, models trained in-process and recorded as deployed,
/// and `serving` replicas as real processes: the serving tests without the
/// rest of the trio.
final class ServingFixture: Sendable {
    let directory: URL
    let databaseURL: String
    let database: PostgresClient
    let http = CurlHTTPClient(concurrency: 8)
    static let adminToken = "serving-admin-token"
    var artifacts: URL { directory.appendingPathComponent("artifacts") }

    init(databaseURL: String? = nil) async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "conveyor-serving-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        if let databaseURL {
            self.databaseURL = databaseURL
        } else {
            self.databaseURL = try await TestPostgres.freshDatabase()
        }
        database = PostgresClient(url: self.databaseURL, maxConnections: 2)
        try await Migrator().migrate(database, logger: .init(label: "test"))
    }

    /// Trains the model of `manifest` on `csv` and records it as deployed
    /// (model version, deployment row and NOTIFY), as the trainer would; from `repository`
    /// when given (each repository has one live model: without one, each deployment replaces
    /// the last).
    @discardableResult
    func deploy(manifest: String, csv: String, pr: Int64, repository: String? = nil) async throws -> String {
        let repo = directory.appendingPathComponent("repo-\(pr)")
        try FileManager.default.createDirectory(at: repo, withIntermediateDirectories: true)
        try manifest.write(to: repo.appendingPathComponent("conveyor.yaml"), atomically: true, encoding: .utf8)
        try csv.write(to: repo.appendingPathComponent("data.csv"), atomically: true, encoding: .utf8)
        return try await deploy(repository: repo, pr: pr, from: repository)
    }

    /// Trains the repository at `repository` (its own conveyor.yaml; Python environments
    /// under `pythonEnvironments`) and records the model as deployed.
    @discardableResult
    func deploy(repository repo: URL, pr: Int64, pythonEnvironments: URL? = nil, from tracked: String? = nil)
        async throws -> String
    {
        let version = "v\(pr)-\(UUID().uuidString.prefix(6).lowercased())"
        let pipeline = TrainingPipeline(repository: repo, pythonEnvironments: pythonEnvironments)
        defer { try? FileManager.default.removeItem(at: pipeline.scratch) }
        let outcome = try await BlockingWork.run {
            try pipeline.run(version: version, baseline: nil, log: { _ in })
        }
        let written = try ArtifactStore.write(outcome.artifact, manifestYAML: outcome.manifestYAML, root: artifacts)
        let path = String(written.path.path.dropFirst(artifacts.path.count + 1))
        let metrics = try PostgresJSON(encoding: outcome.artifact.metrics)
        let gates = try PostgresJSON(encoding: outcome.gates)
        let name = outcome.artifact.name
        try await database.transaction { connection in
            try connection.query(
                """
                INSERT INTO model_versions (version, model_name, pr_number, pr_title, pr_author, commit_sha, metrics,
                    gates, artifact_path, artifact_sha256, repository)
                VALUES (\(version), \(name), \(pr), \("PR \(pr)"), 'tess', \("c0ffee\(pr)"), \(metrics)::jsonb,
                    \(gates)::jsonb, \(path), \(written.sha256), \(tracked))
                """)
            try Deployments.record(connection, model: name, version: version, reason: "trained", kind: .deploy)
        }
        return version
    }

    /// Starts a serving replica; returns it and its base URL once it is live.
    func launchServing(_ name: String, settings: [String: String] = [:]) async throws -> (LaunchedProcess, String) {
        // No gRPC port unless a test asks for one: an ephemeral one could take a port that
        // FreePort just handed to another test's process (TritonClientTests names its own).
        try await LaunchedProcess.launchLive("serving", directory: directory, logName: name, client: http) { port in
            [
                "DATABASE_URL": databaseURL, "ARTIFACTS_DIR": artifacts.path, "PORT": "\(port)",
                "ADMIN_TOKEN": Self.adminToken, "POLL_INTERVAL": "2s", "LOG_LEVEL": "debug", "GRPC_PORT": "off",
                "PREDICTION_SPILL_DIR": directory.appendingPathComponent("spill").path,
            ].merging(settings) { $1 }
        }
    }

    /// Waits until `url` serves `version`.
    func waitForVersion(_ version: String, at url: String, timeout: Double = 30) async throws {
        _ = try await eventually(timeout: timeout, "\(url) to serve \(version)") {
            let response = try await http.send(CurlRequest(url: "\(url)/", timeout: .seconds(5)))
            return (try? JSONValue.parse(response.body))?["version"]?.stringValue == version ? true : nil
        }
    }

    func request(
        _ method: String, _ url: String, body: String? = nil, contentType: String = "application/json",
        headers: [(name: String, value: String)] = []
    ) async throws -> CurlResponse {
        try await http.request(method, url, body: body, contentType: contentType, headers: headers)
    }

    func json(
        _ method: String, _ url: String, body: String? = nil, headers: [(name: String, value: String)] = []
    ) async throws -> (Int, JSONValue) {
        try await http.json(method, url, body: body, headers: headers)
    }

    func shutdown() async {
        await http.shutdown()
        await database.shutdown()
    }
}

/// Small data sets with known structure for serving tests.
enum ServingData {
    /// y = 3a − 2b + (5 if colour is red), 300 rows.
    static let regressionCSV: String = {
        var lines = ["a,b,colour,y"]
        for i in 0..<300 {
            let a = Double(i % 17) / 2
            let b = Double(i % 11) / 3
            let colour = ["red", "green", "blue"][i % 3]
            lines.append("\(a),\(b),\(colour),\(3 * a - 2 * b + (colour == "red" ? 5 : 0))")
        }
        return lines.joined(separator: "\n") + "\n"
    }()

    static let regressionManifest = """
        name: shapes
        task: regression
        data: {path: data.csv, split: {test_fraction: 0.2}}
        target: y
        features:
          - {name: a, type: numeric, min: 0, max: 100}
          - {name: b, type: numeric}
          - {name: colour, type: categorical, categories: [red, green, blue]}
        model: {algorithm: linear_regression}
        """

    /// label is "high" when x + y > 1, else "low"; 400 rows.
    static let classificationCSV = classificationCSV(flipped: false)

    /// The classification rows, with every label swapped when `flipped`.
    static func classificationCSV(flipped: Bool) -> String {
        var lines = ["x,y,label"]
        for i in 0..<400 {
            let x = Double((i * 37) % 100) / 100
            let y = Double((i * 61) % 100) / 100
            lines.append("\(x),\(y),\((x + y > 1) != flipped ? "high" : "low")")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static let classificationManifest = """
        name: sides
        task: classification
        data: {path: data.csv, split: {test_fraction: 0.25}}
        target: label
        features:
          - {name: x, type: numeric}
          - {name: y, type: numeric}
        model: {algorithm: random_forest, params: {trees: 20, max_depth: 6}}
        """

    /// A daily series with a weekly pattern, 200 days from 2024-01-01.
    static let forecastCSV: String = {
        var lines = ["day,visits"]
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        var day = DateComponents(calendar: calendar, year: 2024, month: 1, day: 1).date!
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd"
        formatter.timeZone = TimeZone(identifier: "UTC")
        for i in 0..<200 {
            lines.append("\(formatter.string(from: day)),\(100 + 10 * (i % 7) + i / 10)")
            day = day.addingTimeInterval(86400)
        }
        return lines.joined(separator: "\n") + "\n"
    }()

    static let forecastManifest = """
        name: visits
        task: forecast
        data: {path: data.csv, split: {test_fraction: 0.1}}
        target: visits
        forecast: {date: day, lags: [1, 7], max_horizon: 14}
        model: {algorithm: linear_regression}
        """
}
