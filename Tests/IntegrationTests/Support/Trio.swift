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
    /// The GitHub stand-in: vcs reads pull requests there, the trainer writes preview reports there.
    let sandboxURL: String
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
        let common = [
            "DATABASE_URL": databaseURL, "LOG_LEVEL": "debug", "GITHUB_REPOSITORY": "conveyor/example-model",
            "ADMIN_TOKEN": Self.adminToken,
        ]
        let repository = directory.appendingPathComponent("model-repo").path
        let directory = directory
        let client = CurlHTTPClient(concurrency: 1)
        defer { Task { await client.shutdown() } }
        let sandboxURL: String
        (sandbox, sandboxURL) = try await LaunchedProcess.launchLive(
            "github-sandbox", directory: directory, client: client
        ) {
            common.merging(["PORT": "\($0)", "SANDBOX_REPO_PATH": repository]) { $1 }
        }
        self.sandboxURL = sandboxURL
        (vcs, vcsURL) = try await LaunchedProcess.launchLive("vcs", directory: directory, client: client) {
            common.merging(["PORT": "\($0)", "GITHUB_API_URL": sandboxURL]) { $1 }
        }
        let trainerEnvironment = common.merging([
            "ARTIFACTS_DIR": artifacts, "POLL_INTERVAL": pollInterval, "MODEL_REPO_URL": repository,
            "WORK_DIR": directory.appendingPathComponent("work").path, "GITHUB_API_URL": sandboxURL,
            "GITHUB_TOKEN": "test-github-token",
        ]) { $1 }.merging(trainerSettings) { $1 }
        self.trainerEnvironment = trainerEnvironment
        (trainer, trainerURL) = try await LaunchedProcess.launchLive("trainer", directory: directory, client: client) {
            trainerEnvironment.merging(["PORT": "\($0)"]) { $1 }
        }
        (serving, servingURL) = try await LaunchedProcess.launchLive("serving", directory: directory, client: client) {
            common.merging([
                "PORT": "\($0)", "ARTIFACTS_DIR": artifacts, "POLL_INTERVAL": pollInterval, "GRPC_PORT": "off",
            ]) { $1 }
            .merging(servingSettings) { $1 }
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
        try await LaunchedProcess.launchLive("serving", directory: directory, logName: logName, client: http) { port in
            [
                "DATABASE_URL": databaseURL, "LOG_LEVEL": "debug", "ADMIN_TOKEN": Self.adminToken, "PORT": "\(port)",
                "GRPC_PORT": "off", "ARTIFACTS_DIR": directory.appendingPathComponent("artifacts").path,
                "PREDICTION_SPILL_DIR": directory.appendingPathComponent("spill-\(logName)").path,
            ].merging(settings) { $1 }
        }
    }

    /// Merges a pull request into the model repository whose branch makes `change` to the files.
    func mergePullRequest(title: String, change: (URL) throws -> Void) throws {
        let git = try repositoryGit()
        let subjects = try git(["log", "--first-parent", "--merges", "--format=%s", "main"])
        let last = subjects.split(separator: "\n").first.flatMap {
            $0.split(separator: "#").last?.split(separator: " ").first
        }
        let number = (last.flatMap { Int($0) } ?? 0) + 1
        let branch = "change-\(number)"
        _ = try git(["checkout", "-q", "-b", branch, "main"])
        try change(modelRepository)
        _ = try git(["add", "-A"])
        _ = try git(["commit", "-q", "--allow-empty", "-m", title])
        _ = try git(["checkout", "-q", "main"])
        _ = try git(
            ["merge", "-q", "--no-ff", branch, "-m", "Merge pull request #\(number) from tess/\(branch)", "-m", title])
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

    /// Runs `deploy/example-repo.sh COMMAND DEST [ARGUMENTS…]`; returns what it printed (a commit).
    @discardableResult
    static func exampleRepo(_ command: String, _ destination: URL, _ arguments: String...) async throws -> String {
        let script = repositoryRoot.appendingPathComponent("deploy/example-repo.sh").path
        let result = try await CommandRunner.output(["bash", script, command, destination.path] + arguments)
        guard result.status == 0 else { throw HarnessError("example-repo.sh \(command) failed: \(result.stderr)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
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
