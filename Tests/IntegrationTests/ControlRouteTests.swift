import Crypto
import Foundation
import GitHub
import HTTPClient
import HTTPTypes
import Hummingbird
import JSON
import Logging
import Migrations
import Postgres
import Registry
import ServiceKit
import Testing
import TrainerService
import VCSService

@testable import SandboxService

/// The trainer's, vcs's and the sandbox's routes driven in-process against a
/// real Postgres: every error case answers JSON naming the problem.
@Suite("trainer, vcs and sandbox routes in-process", .tags(.routes))
struct ControlRouteTests {
    static let token = "control-admin-token"

    static func migratedDatabase() async throws -> PostgresClient {
        let database = PostgresClient(url: try await TestPostgres.freshDatabase(), maxConnections: 2)
        try await Migrator().migrate(database, logger: Logger(label: "test"))
        return database
    }

    static func withTrainer(_ body: @Sendable (RouteClient, PostgresClient) async throws -> Void)
        async throws
    {
        let database = try await migratedDatabase()
        let store = TrainingStore(
            database: database, repositories: [TrackedRepository(repository: nil, url: "unused", branch: "main")])
        try await TrainerApp.makeRouter(database: database, store: store, adminToken: Self.token).test { client in
            try await body(client, database)
        }
        await database.shutdown()
    }

    @Test(
        "run routes: bad ids, unknown runs, missing token, bad bodies and unknown pull requests",
        arguments: [
            (HTTPRequest.Method.get, "/runs/abc", nil, nil, 422),
            (.get, "/runs/999", nil, nil, 404),
            (.post, "/runs", #"{"pr_number": 1}"#, nil, 401),
            (.post, "/runs", #"{"pr_number": 1}"#, "Bearer nope", 401),
            (.post, "/runs", "{oops", "Bearer \(token)", 400),
            (.post, "/runs", #"{"pr": 1}"#, "Bearer \(token)", 422),
            (.post, "/runs", #"{"pr_number": 1.5}"#, "Bearer \(token)", 422),
            (.post, "/runs", #"{"pr_number": 12345}"#, "bearer \(token)", 404),
            (.delete, "/runs", nil, nil, 405),
        ] as [(HTTPRequest.Method, String, String?, String?, Int)])
    func runErrors(
        _ method: HTTPRequest.Method, _ uri: String, _ body: String?, _ authorization: String?, _ status: Int
    ) async throws {
        try await Self.withTrainer { client, _ in
            var headers: HTTPFields = [:]
            if let authorization { headers[.authorization] = authorization }
            let reply = try await client.send(method, uri, body: body, headers: headers)
            #expect(reply.status == status, "\(method) \(uri) → \(reply.status) \(reply.text)")
            #expect(reply.json["error"]?["message"]?.stringValue?.isEmpty == false)
        }
    }

    @Test("a 5xx is JSON and is logged with its cause and the request id")
    func serverErrorsAreLogged() async throws {
        let database = try await Self.migratedDatabase()
        let store = TrainingStore(
            database: database, repositories: [TrackedRepository(repository: nil, url: "unused", branch: "main")])
        let logs = CapturedLogs()
        let router = TrainerApp.makeRouter(database: database, store: store, adminToken: Self.token)
        await database.shutdown()  // every query now fails
        try await router.test(logger: logs.logger("trainer")) { client in
            let reply = try await client.send(.get, "/runs")
            #expect(reply.status == 503)
            #expect(reply.json["error"]?["status"]?.integerValue == 503)
            let logged = logs.entries.filter { $0.level >= .error }
            #expect(logged.count == 1, "\(logs.entries.map(\.message))")
            #expect(logged.first?.metadata[AppRequestContext.requestIDKey]?.isEmpty == false)
            #expect(logged.first?.metadata["error"]?.contains("shut down") == true, "\(logged.first?.metadata ?? [:])")
        }
    }

    @Test("a retrain of a commit that already has a queued run is a 409; a queued run can be cancelled")
    func retrainDedupeAndCancel() async throws {
        try await Self.withTrainer { client, database in
            try await database.query(
                """
                INSERT INTO pull_requests (id, number, base__ref, merged_at, merge_commit_sha)
                VALUES (5, 5, 'main', now(), 'abcdef5')
                """)
            let admin: HTTPFields = [.authorization: "Bearer \(Self.token)"]
            let first = try await client.send(.post, "/runs", body: #"{"pr_number": 5}"#, headers: admin)
            #expect(first.status == 202)
            let id = try #require(first.json["id"]?.integerValue)
            let second = try await client.send(.post, "/runs", body: #"{"pr_number": 5}"#, headers: admin)
            #expect(second.status == 409)
            #expect(second.message?.contains("run \(id)") == true, "\(second.text)")

            #expect(try await client.send(.post, "/runs/\(id)/cancel").status == 401)
            let cancel = try await client.send(.post, "/runs/\(id)/cancel", headers: admin)
            #expect(cancel.status == 202)
            #expect(cancel.json["status"]?.stringValue == "cancelled")
            let run = try await client.send(.get, "/runs/\(id)").json
            #expect(run["status"]?.stringValue == "cancelled")
            #expect(try await client.send(.post, "/runs", body: #"{"pr_number": 5}"#, headers: admin).status == 202)
            #expect(try await client.send(.post, "/runs/999/cancel", headers: admin).status == 404)
        }
    }

    @Test("GET /runs lists runs newest first and the document types the run id as an integer")
    func runList() async throws {
        try await Self.withTrainer { client, database in
            try await database.query(
                """
                INSERT INTO training_runs (pr_number, merge_commit_sha, merged_at, status, reason)
                VALUES (1, 'aaa', now(), \(RunStatus.failed), 'x'), (2, 'bbb', now(), \(RunStatus.queued), 'y')
                """)
            let list = try await client.send(.get, "/runs?limit=1")
            #expect(list.status == 200)
            #expect(list.json.arrayValue?.compactMap { $0["pr_number"]?.integerValue } == [2])
            let document = try await client.send(.get, "/openapi.json").json
            let parameter = document["paths"]?["/runs/{id}"]?["get"]?["parameters"]?.arrayValue?.first
            #expect(parameter?["schema"]?["type"]?.stringValue == "integer")
            #expect(document["paths"]?["/runs"]?["post"]?["responses"]?["202"] != nil)
        }
    }

    static func withVCS(
        secret: String?, _ body: @Sendable (RouteClient, PostgresClient) async throws -> Void
    ) async throws {
        let database = try await migratedDatabase()
        let http = CurlHTTPClient()
        let tap = GitHubPullRequestTap(
            api: GitHubAPIClient(
                client: http, token: nil, logger: Logger(label: "test"), attempts: 1, backoff: .milliseconds(1)),
            apiURL: "http://127.0.0.1:9", repository: "o/r", logger: Logger(label: "test"))
        let loader = SingerPostgresLoader()
        let sync = PullRequestSync(tap: tap, database: database, loader: loader, logger: Logger(label: "test"))
        let router = VCSApp.makeRouter(
            database: database, syncs: RepositorySyncs([sync]), loader: loader, webhookSecret: secret,
            logger: Logger(label: "test"))
        try await router.test { client in try await body(client, database) }
        await http.shutdown()
        await database.shutdown()
    }

    static let validPayload = String(decoding: WebhookTests.payload(), as: UTF8.self)

    static func signed(_ body: String, event: String = "pull_request", delivery: String? = "d-1") -> HTTPFields {
        var headers: HTTPFields = [
            .xGitHubEvent: event,
            .xHubSignature256: WebhookSignature(secret: WebhookTests.secret).header(for: Array(body.utf8)),
        ]
        if let delivery { headers[.xGitHubDelivery] = delivery }
        return headers
    }

    @Test(
        "webhook errors: bad JSON, no delivery id, no pull request, a schema violation; other events and ping answer",
        arguments: [
            ("{oops", "pull_request", "d-1", 400), (#"{"action": "opened"}"#, "pull_request", nil, 422),
            (#"{"action": "opened"}"#, "pull_request", "d-2", 422),
            (#"{"pull_request": {"number": "seven"}}"#, "pull_request", "d-3", 422),
            (#"{"zen": "hi"}"#, "ping", "d-4", 200), (#"{"a": 1}"#, "issues", "d-5", 202),
            (validPayload, "pull_request", String(repeating: "x", count: 3000), 422),
            (
                validPayload.replacingOccurrences(of: "2026-01-02T10:00:00Z", with: "2024-13-45T25:61:61Z"),
                "pull_request",
                "d-6", 422
            ),
            (validPayload, "pull_request", "d-7", 200),
        ] as [(String, String, String?, Int)])
    func webhookErrors(_ body: String, _ event: String, _ delivery: String?, _ status: Int) async throws {
        try await Self.withVCS(secret: WebhookTests.secret) { client, _ in
            let reply = try await client.send(
                .post, "/webhook", body: body, headers: Self.signed(body, event: event, delivery: delivery))
            #expect(reply.status == status, "\(event) \(body) → \(reply.status) \(reply.text)")
            if status >= 400 { #expect(reply.json["error"]?["message"]?.stringValue?.isEmpty == false) }
        }
    }

    @Test("webhooks without a configured secret are 403, a wrong signature 401")
    func webhookSignatures() async throws {
        try await Self.withVCS(secret: nil) { client, _ in
            let reply = try await client.send(.post, "/webhook", body: "{}", headers: Self.signed("{}"))
            #expect(reply.status == 403)
        }
        try await Self.withVCS(secret: "other-secret") { client, _ in
            let reply = try await client.send(.post, "/webhook", body: "{}", headers: Self.signed("{}"))
            #expect(reply.status == 401)
        }
    }

    @Test("GET /checkout against an unreachable GitHub is a 502 naming the request")
    func checkoutUnreachable() async throws {
        try await Self.withVCS(secret: nil) { client, _ in
            let reply = try await client.send(.get, "/checkout")
            #expect(reply.status == 502)
            #expect(reply.json["error"]?["message"]?.stringValue?.contains("GitHub sync failed") == true)
        }
    }

    @Test(
        "sandbox control routes validate their bodies",
        arguments: [
            ("/_sandbox/pulls/generate", #"{"count": 0}"#, 422), ("/_sandbox/pulls/generate", "{oops", 400),
            ("/_sandbox/faults", #"{"faults": [{"kind": "gremlins"}]}"#, 422),
            ("/_sandbox/pulls/generate", #"{"count": 2}"#, 201),
            ("/_sandbox/faults", #"{"faults": [{"kind": "status", "count": 9000000000000000}]}"#, 422),
            ("/_sandbox/faults", #"{"faults": [{"kind": "status", "status": 99999}]}"#, 422),
            ("/_sandbox/faults", #"{"faults": [{"kind": "slow", "ms": -5}]}"#, 422),
            ("/_sandbox/faults", #"{"faults": [{"kind": "status", "status": 503, "count": 2}]}"#, 200),
            ("/_sandbox/rate_limit", #"{"limit": 5, "window_seconds": -1}"#, 422),
            ("/_sandbox/pulls/generate", #"{"count": 1, "first": 9000000000000000}"#, 422),
        ])
    func sandboxControl(_ uri: String, _ body: String, _ status: Int) async throws {
        let configuration = SandboxConfiguration(
            logLevel: .info, port: 0, server: .init(), repositoryPath: FileManager.default.temporaryDirectory,
            fullName: "o/r",
            baseBranch: "main")
        try await SandboxApp.makeRouter(configuration: configuration).test { client in
            let reply = try await client.send(.post, uri, body: body)
            #expect(reply.status == status, "\(uri) \(body) → \(reply.status) \(reply.text)")
        }
    }
}
