import Foundation
import HTTPClient
import JSON
import Postgres
import Subprocess
import Testing

/// Two model repositories through the whole loop on one stack (issue 35): a regression (the
/// example weather model) and a classifier, each behind its own GitHub sandbox, followed by one
/// `vcs`, one `trainer` and one `serving` through `MODELS_FILE`. Both repositories number
/// their pull requests from #1: each merge trains and serves only its own model, and a
/// rollback of one leaves the other live.
@Suite("Several model repositories through the whole loop", .serialized)
struct ManyRepositoriesLoopTests {
    static let admin = [(name: "Authorization", value: "Bearer \(Trio.adminToken)")]

    /// A git repository whose history has merged pull requests as GitHub records them.
    struct ClassifierRepository {
        let path: URL

        func git(_ arguments: [String]) throws -> String {
            let environment = [
                "GIT_AUTHOR_NAME": "Tess", "GIT_AUTHOR_EMAIL": "tess@example.com", "GIT_COMMITTER_NAME": "Tess",
                "GIT_COMMITTER_EMAIL": "tess@example.com",
            ]
            let result = try ChildProcess.run(
                ["git", "-C", path.path, "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false"] + arguments,
                environment: environment)
            guard result.status == 0 else { throw HarnessError("git \(arguments) failed: \(result.stderr)") }
            return result.stdout
        }

        /// Creates `main` with the manifest, then merges PR #1 with the data.
        static func create(at path: URL) throws -> ClassifierRepository {
            try FileManager.default.createDirectory(at: path, withIntermediateDirectories: true)
            let repository = ClassifierRepository(path: path)
            _ = try repository.git(["init", "-q"])
            try ServingData.classificationManifest.write(
                to: path.appendingPathComponent("conveyor.yaml"), atomically: true, encoding: .utf8)
            _ = try repository.git(["add", "-A"])
            _ = try repository.git(["commit", "-q", "-m", "manifest"])
            try repository.merge(number: 1, title: "first data") {
                try ServingData.classificationCSV.write(
                    to: path.appendingPathComponent("data.csv"), atomically: true, encoding: .utf8)
            }
            return repository
        }

        /// Opens pull request `number` (its head at `refs/pull/N/head`, as GitHub keeps it) making
        /// `change`, without merging it; returns its head commit.
        func open(number: Int, title: String, change: () throws -> Void) throws -> String {
            let branch = "open-\(number)"
            _ = try git(["checkout", "-q", "-b", branch, "main"])
            try change()
            _ = try git(["add", "-A"])
            _ = try git(["commit", "-q", "--allow-empty", "-m", title])
            let head = try git(["rev-parse", "HEAD"]).trimmingCharacters(in: .whitespacesAndNewlines)
            _ = try git(["update-ref", "refs/pull/\(number)/head", head])
            _ = try git(["checkout", "-q", "main"])
            return head
        }

        /// Merges a branch making `change` as pull request `number`.
        func merge(number: Int, title: String, change: () throws -> Void) throws {
            let branch = "change-\(number)"
            _ = try git(["checkout", "-q", "-b", branch, "main"])
            try change()
            _ = try git(["add", "-A"])
            _ = try git(["commit", "-q", "--allow-empty", "-m", title])
            _ = try git(["checkout", "-q", "main"])
            _ = try git(
                [
                    "merge", "-q", "--no-ff", branch, "-m", "Merge pull request #\(number) from tess/\(branch)", "-m",
                    title,
                ])
        }
    }

    @Test("two repositories: each merge trains and serves only its model; a rollback of one leaves the other")
    func twoRepositories() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "conveyor-repos-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let databaseURL = try await TestPostgres.freshDatabase()
        let weather = directory.appendingPathComponent("weather")
        try await Trio.exampleRepo("init", weather)
        let sides = try ClassifierRepository.create(at: directory.appendingPathComponent("sides"))
        let http = CurlHTTPClient(concurrency: 4)
        var processes: [LaunchedProcess] = []
        defer {
            for process in processes { _ = process.terminate() }
            Task { await http.shutdown() }
        }
        // A sandbox per repository, their pull request ids apart as GitHub's are.
        var sandboxes: [String] = []
        for (name, path, idBase) in [
            ("acme/weather", weather.path, 1_000_000), ("acme/sides", sides.path.path, 2_000_000),
        ] {
            let (sandbox, url) = try await LaunchedProcess.launchLive(
                "github-sandbox", directory: directory, logName: "sandbox-\(idBase)", client: http
            ) { port in
                [
                    "PORT": "\(port)", "SANDBOX_REPO_PATH": path, "GITHUB_REPOSITORY": name,
                    "SANDBOX_ID_BASE": "\(idBase)",
                ]
            }
            processes.append(sandbox)
            sandboxes.append(url)
        }
        let modelsFile = directory.appendingPathComponent("models.yaml")
        try """
        repositories:
          - {repository: acme/weather, url: \(weather.path), branch: main, api_url: "\(sandboxes[0])"}
          - {repository: acme/sides, url: \(sides.path.path), branch: main, api_url: "\(sandboxes[1])"}
        """.write(to: modelsFile, atomically: true, encoding: .utf8)
        let common = [
            "DATABASE_URL": databaseURL, "LOG_LEVEL": "debug", "ADMIN_TOKEN": Trio.adminToken,
            "MODELS_FILE": modelsFile.path,
        ]
        let artifacts = directory.appendingPathComponent("artifacts").path
        let (vcs, vcsURL) = try await LaunchedProcess.launchLive("vcs", directory: directory, client: http) {
            common.merging(["PORT": "\($0)"]) { $1 }
        }
        processes.append(vcs)
        let (trainer, trainerURL) = try await LaunchedProcess.launchLive(
            "trainer", directory: directory, client: http
        ) {
            common.merging([
                "PORT": "\($0)", "ARTIFACTS_DIR": artifacts, "POLL_INTERVAL": "60s",
                "GITHUB_TOKEN": "test-github-token",
                "WORK_DIR": directory.appendingPathComponent("work").path,
            ]) { $1 }
        }
        processes.append(trainer)
        var servingEnvironment = common
        servingEnvironment.removeValue(forKey: "MODELS_FILE")  // serving follows the deployments, not the file
        let (serving, servingURL) = try await LaunchedProcess.launchLive(
            "serving", directory: directory, client: http
        ) {
            servingEnvironment.merging([
                "PORT": "\($0)", "ARTIFACTS_DIR": artifacts, "POLL_INTERVAL": "60s", "GRPC_PORT": "off",
            ]) { $1 }
        }
        processes.append(serving)
        let logs = { processes.map { $0.logTail() }.joined(separator: "\n") }

        // One /checkout syncs both repositories; each one's PR #1 trains its own model.
        let (checkout, synced) = try await http.json("GET", "\(vcsURL)/checkout")
        #expect(checkout == 200, "\(synced)")
        let entries = synced["repositories"]?.arrayValue ?? []
        #expect(Set(entries.compactMap { $0["repository"]?.stringValue }) == ["acme/weather", "acme/sides"])
        #expect(entries.allSatisfy { $0["summary"]?["merged_fetched"]?.integerValue == 1 }, "\(synced)")
        let first = try await served(http, servingURL, models: ["seattle-temp-max", "sides"], logs: logs)
        let weatherV1 = try #require(first["seattle-temp-max"])
        let sidesV1 = try #require(first["sides"])
        let (_, weatherAnswer) = try await http.json(
            "POST", "\(servingURL)/models/seattle-temp-max/predict",
            body: #"{"temp_min": 5, "precipitation": 0, "wind": 3, "weather": "sun"}"#)
        #expect(weatherAnswer["prediction"]?.doubleValue != nil, "\(weatherAnswer)")
        let (_, sidesAnswer) = try await http.json(
            "POST", "\(servingURL)/models/sides/predict", body: #"{"x": 0.9, "y": 0.8}"#)
        #expect(sidesAnswer["prediction"]?["label"]?.stringValue == "high", "\(sidesAnswer)")
        // The trainer's gauges show each model's live version.
        _ = try await eventually(timeout: 30, "conveyor_deployed_model_info for both models") {
            let metrics = String(decoding: try await http.request("GET", "\(trainerURL)/metrics").body, as: UTF8.self)
            let series = metrics.split(separator: "\n").filter { $0.hasPrefix("conveyor_deployed_model_info{") }
            let named = ["seattle-temp-max": weatherV1, "sides": sidesV1].allSatisfy { model, version in
                series.contains { $0.contains("model=\"\(model)\"") && $0.contains("version=\"\(version)\"") }
            }
            return named ? true : nil
        }
        // The runs record their repositories.
        let (_, runs) = try await http.json("GET", "\(trainerURL)/runs")
        let repositories = Set(
            (runs["runs"]?.arrayValue ?? runs.arrayValue ?? []).compactMap { $0["repository"]?.stringValue })
        #expect(repositories == ["acme/weather", "acme/sides"], "\(runs)")

        // A merge into sides (its PR #2) trains and serves only sides.
        try sides.merge(number: 2, title: "more data") {
            try
                (ServingData.classificationCSV
                + ServingData.classificationCSV.split(separator: "\n").dropFirst()
                .prefix(50).joined(separator: "\n") + "\n").write(
                    to: sides.path.appendingPathComponent("data.csv"), atomically: true, encoding: .utf8)
        }
        _ = try await http.json("GET", "\(vcsURL)/checkout")
        let second = try await eventually(timeout: 120, "sides's PR #2 served") {
            let versions = try await loadedModelVersions(http, servingURL)
            return versions["sides"] != sidesV1 && versions["sides"] != nil ? versions : nil
        }
        #expect(second["seattle-temp-max"] == weatherV1, "weather is untouched by sides's merge")
        let (_, sidesModel) = try await http.json("GET", "\(servingURL)/models/sides")
        #expect(sidesModel["pull_request"]?["number"]?.integerValue == 2, "\(sidesModel)")

        // Rolling sides back restores its first version; weather stays live.
        let (rolled, rollback) = try await http.json(
            "POST", "\(servingURL)/models/sides/deployments/rollback", headers: Self.admin)
        #expect(rolled == 202, "\(rollback)")
        #expect(rollback["rolled_back_to"]?.stringValue == sidesV1)
        let third = try await eventually(timeout: 30, "sides rolled back") {
            let versions = try await loadedModelVersions(http, servingURL)
            return versions["sides"] == sidesV1 ? versions : nil
        }
        #expect(third["seattle-temp-max"] == weatherV1, "weather is untouched by sides's rollback")
        // The rolled-back merge is not trained again (the next check finds nothing newer untried).
        let (_, again) = try await http.json("GET", "\(vcsURL)/checkout")
        #expect(again["repositories"]?.arrayValue?.count == 2, "\(again)")
        let (_, weatherStill) = try await http.json("GET", "\(servingURL)/models/seattle-temp-max")
        #expect(weatherStill["version"]?.stringValue == weatherV1)

        // A pull request opened in sides is previewed and reported on sides's GitHub, not weather's.
        let head = try sides.open(number: 3, title: "a preview") {
            try (ServingData.classificationCSV + "0.5,0.6,high\n").write(
                to: sides.path.appendingPathComponent("data.csv"), atomically: true, encoding: .utf8)
        }
        _ = try await http.json("GET", "\(vcsURL)/checkout")
        let statuses = try await eventually(timeout: 120, "sides's preview reported on its pull request") {
            () async throws -> [JSONValue]? in
            let (_, listed) = try await http.json("GET", "\(sandboxes[1])/repos/acme/sides/commits/\(head)/statuses")
            guard let newest = listed.arrayValue?.first?["state"]?.stringValue, newest != "pending" else { return nil }
            return listed.arrayValue ?? []
        }
        #expect(statuses.first?["state"]?.stringValue == "success", "\(statuses)")
        let (_, onWeather) = try await http.json(
            "GET", "\(sandboxes[0])/repos/acme/weather/commits/\(head)/statuses")
        #expect(onWeather.arrayValue?.isEmpty == true, "nothing reported on weather's repository: \(onWeather)")
        let (_, previewed) = try await http.json("GET", "\(trainerURL)/runs?kind=preview")
        #expect(
            previewed.arrayValue?.map { $0["repository"]?.stringValue } == ["acme/sides"],
            "one preview, of sides: \(previewed)")
        #expect(try await loadedModelVersions(http, servingURL)["sides"] == sidesV1, "a preview deploys nothing")
    }

    /// Waits until every one of `models` is loaded; returns the loaded versions.
    private func served(_ http: CurlHTTPClient, _ url: String, models: Set<String>, logs: () -> String) async throws
        -> [String: String]
    {
        do {
            return try await eventually(timeout: 120, "\(models) served") {
                let versions = try await loadedModelVersions(http, url)
                return Set(versions.keys) == models ? versions : nil
            }
        } catch {
            Issue.record("\(error)\n\(logs())")
            throw error
        }
    }
}
