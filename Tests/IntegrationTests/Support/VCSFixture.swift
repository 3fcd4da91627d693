import Foundation
import HTTPClient
import JSON
import Postgres
import Testing

/// A fresh database, the GitHub sandbox over an example model repository and
/// a `vcs` service pointed at it, as real processes on loopback.
final class VCSFixture: Sendable {
    let directory: URL
    let databaseURL: String
    let database: PostgresClient
    let sandbox: LaunchedProcess
    let vcs: LaunchedProcess
    let sandboxURL: String
    let vcsURL: String
    let environment: [String: String]
    let http = CurlHTTPClient(concurrency: 4)
    static let repository = "conveyor/example-model"
    static let secret = "vcs-fixture-secret"

    init(settings: [String: String] = [:]) async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "conveyor-vcs-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        databaseURL = try await TestPostgres.freshDatabase()
        database = PostgresClient(url: databaseURL, maxConnections: 2)
        try await Trio.exampleRepo("init", directory.appendingPathComponent("model-repo"))
        let ports = try (0..<2).map { _ in try FreePort.find() }
        sandboxURL = "http://127.0.0.1:\(ports[0])"
        vcsURL = "http://127.0.0.1:\(ports[1])"
        environment = [
            "DATABASE_URL": databaseURL, "GITHUB_REPOSITORY": Self.repository, "GITHUB_API_URL": sandboxURL,
            "GITHUB_WEBHOOK_SECRET": Self.secret, "GITHUB_RETRY_BACKOFF": "20ms", "LOG_LEVEL": "debug",
            "SANDBOX_REPO_PATH": directory.appendingPathComponent("model-repo").path,
        ].merging(settings) { $1 }
        sandbox = try LaunchedProcess(
            "github-sandbox", environment: environment.merging(["PORT": "\(ports[0])"]) { $1 },
            logDirectory: directory)
        vcs = try LaunchedProcess(
            "vcs", environment: environment.merging(["PORT": "\(ports[1])"]) { $1 }, logDirectory: directory)
        for url in [sandboxURL, vcsURL] {
            do {
                try await http.waitUntilLive(url)
            } catch {
                throw HarnessError("\(error)\n\(sandbox.logTail())\n\(vcs.logTail())")
            }
        }
    }

    /// Sends a request with an optional JSON body; returns the status and the body as JSON.
    @discardableResult
    func call(_ method: String, _ url: String, _ body: String? = nil) async throws -> (Int, JSONValue) {
        try await http.json(method, url, body: body)
    }

    /// `GET /checkout`: the sync summary (or error body) and status.
    func checkout() async throws -> (Int, JSONValue) { try await call("GET", "\(vcsURL)/checkout") }

    /// Waits until the sandbox holds a finished page back (a `slow` fault),
    /// so a change made now happens mid-request on any machine speed.
    func untilAPageIsDelayed() async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            let (_, counts) = try await call("GET", "\(sandboxURL)/_sandbox/requests")
            if counts["delaying"]?.integerValue ?? 0 > 0 { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("no page was delayed within 20 s")
    }

    /// A count from SQL that returns one `n` column.
    func count(_ sql: String) async throws -> Int64 {
        try await database.query(PostgresQuery(unsafeSQL: sql)).first?.decode("n", as: Int64.self) ?? -1
    }

    /// The stored STATE value of the repository's tap.
    func storedState() async throws -> JSONValue? {
        let rows = try await database.query(
            "SELECT state::text AS s FROM singer_state WHERE tap = \("tap-github:\(Self.repository)")")
        return try rows.first.map { try JSONValue.parse(Array(try $0.decode("s", as: String.self).utf8)) }
    }

    func logs() -> String { [sandbox, vcs].map { $0.logTail() }.joined(separator: "\n") }

    func stop() async {
        _ = vcs.terminate()
        _ = sandbox.terminate()
        await http.shutdown()
        await database.shutdown()
    }
}
