import Foundation
import HTTPClient
import JSON
import Postgres
import Subprocess

/// Postgres database, sandbox, vcs, trainer and serving as real processes on
/// loopback, around an example model repository made by `deploy/example-repo.sh`.
final class Trio: Sendable {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    let directory: URL
    let databaseURL: String
    let sandbox: LaunchedProcess
    let vcs: LaunchedProcess
    let trainer: LaunchedProcess
    let trainerEnvironment: [String: String]
    let serving: LaunchedProcess
    let vcsURL: String
    let trainerURL: String
    let servingURL: String
    let http = CurlHTTPClient(concurrency: 4)
    static let adminToken = "test-admin-token"

    var modelRepository: URL { directory.appendingPathComponent("model-repo") }

    init(
        pollInterval: String = "60s", trainerSettings: [String: String] = [:], servingSettings: [String: String] = [:]
    ) async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "conveyor-e2e-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        databaseURL = try await TestPostgres.freshDatabase()
        try await Self.exampleRepo("init", directory.appendingPathComponent("model-repo"))
        let artifacts = directory.appendingPathComponent("artifacts").path
        let ports = try (0..<4).map { _ in try FreePort.find() }
        let common = [
            "DATABASE_URL": databaseURL, "LOG_LEVEL": "debug", "GITHUB_REPOSITORY": "conveyor/example-model",
            "ADMIN_TOKEN": Self.adminToken,
        ]
        sandbox = try LaunchedProcess(
            "github-sandbox",
            environment: common.merging([
                "PORT": "\(ports[0])", "SANDBOX_REPO_PATH": directory.appendingPathComponent("model-repo").path,
            ]) { $1 },
            logDirectory: directory)
        vcs = try LaunchedProcess(
            "vcs",
            environment: common.merging(["PORT": "\(ports[1])", "GITHUB_API_URL": "http://127.0.0.1:\(ports[0])"]) {
                $1
            },
            logDirectory: directory)
        trainerEnvironment = common.merging([
            "ARTIFACTS_DIR": artifacts, "POLL_INTERVAL": pollInterval,
            "MODEL_REPO_URL": directory.appendingPathComponent("model-repo").path,
            "WORK_DIR": directory.appendingPathComponent("work").path,
        ]) { $1 }.merging(trainerSettings) { $1 }
        trainer = try LaunchedProcess(
            "trainer", environment: trainerEnvironment.merging(["PORT": "\(ports[2])"]) { $1 }, logDirectory: directory)
        serving = try LaunchedProcess(
            "serving",
            environment: common.merging([
                "PORT": "\(ports[3])", "ARTIFACTS_DIR": artifacts, "POLL_INTERVAL": pollInterval,
            ]) { $1 }.merging(servingSettings) { $1 },
            logDirectory: directory)
        vcsURL = "http://127.0.0.1:\(ports[1])"
        trainerURL = "http://127.0.0.1:\(ports[2])"
        servingURL = "http://127.0.0.1:\(ports[3])"
        for url in ["http://127.0.0.1:\(ports[0])", vcsURL, trainerURL, servingURL] {
            try await http.waitUntilLive(url)
        }
    }

    /// Starts one more trainer (a replica, or a replacement for a crashed one).
    func launchTrainer(_ logName: String, settings: [String: String] = [:]) throws -> LaunchedProcess {
        try LaunchedProcess(
            "trainer",
            environment: trainerEnvironment.merging(["PORT": "\(try FreePort.find())"]) { $1 }.merging(settings) { $1 },
            logDirectory: directory, logName: logName)
    }

    /// Starts one more serving replica on the same database and artifacts; returns it and its URL.
    func launchServing(_ logName: String, settings: [String: String] = [:]) async throws -> (LaunchedProcess, String) {
        let port = try FreePort.find()
        let replica = try LaunchedProcess(
            "serving",
            environment: [
                "DATABASE_URL": databaseURL, "LOG_LEVEL": "debug", "ADMIN_TOKEN": Self.adminToken, "PORT": "\(port)",
                "ARTIFACTS_DIR": directory.appendingPathComponent("artifacts").path,
                "PREDICTION_SPILL_DIR": directory.appendingPathComponent("spill-\(logName)").path,
            ].merging(settings) { $1 }, logDirectory: directory, logName: logName)
        let url = "http://127.0.0.1:\(port)"
        try await http.waitUntilLive(url)
        return (replica, url)
    }

    /// Merges a pull request into the model repository whose branch makes `change` to the files.
    func mergePullRequest(title: String, change: (URL) throws -> Void) throws {
        let repo = modelRepository.path
        let lastCommit = try ChildProcess.run(["git", "-C", repo, "log", "-1", "--format=%ct", "main"]).stdout
        // Strictly after the last merge, so merge times order the pull requests.
        let stamp =
            "@\(max(Int(Date().timeIntervalSince1970), (Int(lastCommit.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) + 1)) +0000"
        let env = [
            "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp,
            "GIT_AUTHOR_NAME": "Tess Tester", "GIT_AUTHOR_EMAIL": "tess@example.com",
            "GIT_COMMITTER_NAME": "Tess Tester", "GIT_COMMITTER_EMAIL": "tess@example.com",
        ]
        func git(_ arguments: String...) throws -> String {
            let result = try ChildProcess.run(["git", "-C", repo] + arguments, environment: env)
            guard result.status == 0 else { throw HarnessError("git \(arguments): \(result.stderr)") }
            return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let subjects = try git("log", "--first-parent", "--merges", "--format=%s", "main")
        let last = subjects.split(separator: "\n").first.flatMap {
            $0.split(separator: "#").last?.split(separator: " ").first
        }
        let number = (last.flatMap { Int($0) } ?? 0) + 1
        let branch = "change-\(number)"
        _ = try git("checkout", "-q", "-b", branch, "main")
        try change(modelRepository)
        _ = try git("add", "-A")
        _ = try git("commit", "-q", "--allow-empty", "-m", title)
        _ = try git("checkout", "-q", "main")
        _ = try git(
            "merge", "-q", "--no-ff", branch, "-m", "Merge pull request #\(number) from tess/\(branch)", "-m", title)
    }

    /// Stores merged PR `number` at the repository's `main` directly, as vcs
    /// would but without its NOTIFY, so only polling can find it.
    func insertMergedPullRequest(number: Int64) async throws {
        let sha = try ChildProcess.run(["git", "-C", modelRepository.path, "rev-parse", "main"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let database = PostgresClient(url: databaseURL, maxConnections: 1)
        defer { Task { await database.shutdown() } }
        try await database.query(
            """
            INSERT INTO pull_requests (id, number, state, title, merged_at, updated_at, merge_commit_sha, base__ref)
            VALUES (\(1_000_000 + number), \(number), 'closed', 'inserted by a test', now(), now(), \(sha), 'main')
            """)
    }

    /// Runs `deploy/example-repo.sh COMMAND DEST`.
    static func exampleRepo(_ command: String, _ destination: URL) async throws {
        let script = repositoryRoot.appendingPathComponent("deploy/example-repo.sh").path
        let result = try await CommandRunner.output(["bash", script, command, destination.path])
        guard result.status == 0 else { throw HarnessError("example-repo.sh \(command) failed: \(result.stderr)") }
    }

    func get(_ url: String, headers: [(name: String, value: String)] = []) async throws -> (Int, JSONValue) {
        try await http.json("GET", url, headers: headers)
    }

    func post(
        _ url: String, body: String, contentType: String = "application/json",
        headers: [(name: String, value: String)] = []
    ) async throws -> (Int, JSONValue) {
        try await http.json("POST", url, body: body, contentType: contentType, headers: headers)
    }

    /// Waits until serving's `GET /` shows the model of pull request `number`.
    func waitForServedPR(_ number: Int64, timeout: Double = 90) async throws -> JSONValue {
        try await eventually(timeout: timeout, "serving to answer with PR #\(number)") {
            let (status, info) = try await get("\(servingURL)/")
            return status == 200 && info["pull_request"]?["number"]?.integerValue == number ? info : nil
        }
    }

    /// Everything the processes logged, for failure messages.
    func logs() -> String {
        [sandbox, vcs, trainer, serving].map { $0.logTail() }.joined(separator: "\n")
    }

    /// Stops every process with SIGTERM; returns their exit statuses by name.
    func stop() async -> [String: Int32?] {
        await http.shutdown()
        var statuses: [String: Int32?] = [:]
        for process in [serving, trainer, vcs, sandbox] { statuses[process.name] = process.terminate() }
        return statuses
    }
}
