import Foundation
import GitHub
import HTTPClient
import HTTPTypes
import JSON
import Logging
import Migrations
import Postgres
import Registry
import ServiceKit
import Testing
import VCSService

@Suite("vcs: GitHub webhooks")
struct WebhookTests {
    static let secret = "s3cret-webhook-key"

    static func payload(action: String = "closed", merged: Bool = true, number: Int = 7) -> [UInt8] {
        let json = """
            {"action": "\(action)", "number": \(number), "pull_request": {
              "id": \(900 + number), "number": \(number), "state": "closed", "title": "Better model 🚀", "body": null,
              "html_url": "https://github.com/o/r/pull/\(number)", "user": {"login": "dana", "id": 5},
              "created_at": "2026-01-01T10:00:00Z", "updated_at": "2026-01-02T10:00:00Z",
              "closed_at": "2026-01-02T10:00:00Z", "merged_at": \(merged ? "\"2026-01-02T10:00:00Z\"" : "null"),
              "merged": \(merged), "merge_commit_sha": "abcdef1234567", "labels": [],
              "head": {"ref": "feature", "sha": "1111111"}, "base": {"ref": "main", "sha": "2222222"}}}
            """
        return Array(json.utf8)
    }

    /// A vcs router on loopback over a fresh database.
    static func start(secret: String?) async throws -> (LoopbackServer, PostgresClient, String) {
        let url = try await TestPostgres.freshDatabase()
        let database = PostgresClient(url: url)
        try await Migrator().migrate(database, logger: Logger(label: "test"))
        let tap = GitHubPullRequestTap(
            api: GitHubAPIClient(client: CurlHTTPClient(), token: nil, logger: Logger(label: "test")),
            apiURL: "http://127.0.0.1:9", repository: "o/r", logger: Logger(label: "test"))
        let loader = SingerPostgresLoader()
        let sync = PullRequestSync(tap: tap, database: database, loader: loader, logger: Logger(label: "test"))
        let router = VCSApp.makeRouter(
            database: database, syncs: RepositorySyncs([sync]), loader: loader, webhookSecret: secret,
            logger: Logger(label: "test"))
        return (try await LoopbackServer.start(router), database, url)
    }

    static func send(
        _ server: LoopbackServer, event: String, delivery: String, body: [UInt8], signature: String?
    ) async throws -> (Int, JSONValue) {
        var headers: HTTPFields = [
            .contentType: "application/json", .xGitHubEvent: event, .xGitHubDelivery: delivery,
        ]
        if let signature { headers[.xHubSignature256] = signature }
        let response = try await CurlHTTPClient().send(
            CurlRequest(method: .post, url: "\(server.baseURL)/webhook", headers: headers, body: body))
        return (response.status.code, (try? JSONValue.parse(response.body)) ?? .null)
    }

    static func storedCount(_ database: PostgresClient) async throws -> Int {
        try await database.query("SELECT count(*)::int AS n FROM pull_requests").first?.decode("n", as: Int.self) ?? -1
    }

    @Test("a signed merge is stored once and notifies trainers; a redelivery is not applied again")
    func signedMergeAppliedOnce() async throws {
        let (server, database, url) = try await Self.start(secret: Self.secret)
        defer { server.task.cancel() }
        var events = database.listen(Schema.pullRequestsChannel).makeAsyncIterator()
        #expect(await events.next() == .connected(reconnected: false))

        let body = Self.payload()
        let signature = WebhookSignature(secret: Self.secret).header(for: body)
        let (status, reply) = try await Self.send(
            server, event: "pull_request", delivery: "d-1", body: body, signature: signature)
        #expect(status == 200)
        #expect(reply["status"]?.stringValue == "applied")
        guard case .notification(let notification) = await events.next() else {
            Issue.record("no NOTIFY for the merge")
            return
        }
        #expect(notification.channel == Schema.pullRequestsChannel)
        #expect(
            try JSONDecoder().decode(PullRequestsNotice.self, from: Data(notification.payload.utf8))
                == PullRequestsNotice(merged: 1))
        let row = try #require(
            try await database.query("SELECT title, user__login, merge_commit_sha, base__ref FROM pull_requests").first)
        #expect(try row.decode("title", as: String.self) == "Better model 🚀")
        #expect(try row.decode("user__login", as: String.self) == "dana")
        #expect(try row.decode("base__ref", as: String.self) == "main")

        let (again, replay) = try await Self.send(
            server, event: "pull_request", delivery: "d-1", body: body, signature: signature)
        #expect(again == 200)
        #expect(replay["status"]?.stringValue == "duplicate")
        #expect(try await Self.storedCount(database) == 1)
    }

    @Test("an event about a repository not followed is ignored (202), one about a followed one applied")
    func routedByRepository() async throws {
        let (server, database, _) = try await Self.start(secret: Self.secret)
        defer { server.task.cancel() }
        for (repository, delivery, expected) in [("x/other", "d-r1", "ignored"), ("o/r", "d-r2", "applied")] {
            var text = String(decoding: Self.payload(), as: UTF8.self)
            text.insert(
                contentsOf: #""repository": {"full_name": "\#(repository)"}, "#, at: text.index(after: text.startIndex))
            let body = Array(text.utf8)
            let (status, reply) = try await Self.send(
                server, event: "pull_request", delivery: delivery, body: body,
                signature: WebhookSignature(secret: Self.secret).header(for: body))
            #expect(reply["status"]?.stringValue == expected, "\(repository): \(reply)")
            #expect(status == (expected == "ignored" ? 202 : 200))
            if expected == "ignored" {
                #expect(reply["detail"]?.stringValue?.contains("x/other") == true)
                #expect(try await Self.storedCount(database) == 0, "nothing stored for another repository")
            }
        }
        #expect(try await Self.storedCount(database) == 1)
    }

    @Test("a missing or wrong signature is refused with 401 and nothing is stored")
    func badSignaturesRefused() async throws {
        let (server, database, _) = try await Self.start(secret: Self.secret)
        defer { server.task.cancel() }
        let body = Self.payload()
        let (unsigned, unsignedReply) = try await Self.send(
            server, event: "pull_request", delivery: "d-2", body: body, signature: nil)
        #expect(unsigned == 401)
        #expect(unsignedReply["error"]?["message"]?.stringValue?.contains("X-Hub-Signature-256") == true)
        let forged = WebhookSignature(secret: "wrong").header(for: body)
        let (wrong, _) = try await Self.send(
            server, event: "pull_request", delivery: "d-3", body: body, signature: forged)
        #expect(wrong == 401)
        let tampered = WebhookSignature(secret: Self.secret).header(for: body)
        let (changed, _) = try await Self.send(
            server, event: "pull_request", delivery: "d-4", body: Self.payload(number: 8), signature: tampered)
        #expect(changed == 401)
        #expect(try await Self.storedCount(database) == 0)
    }

    @Test("ping is answered, other events are accepted and ignored")
    func pingAndOtherEvents() async throws {
        let (server, database, _) = try await Self.start(secret: Self.secret)
        defer { server.task.cancel() }
        let body = Array("{\"zen\": \"Keep it logically awesome.\"}".utf8)
        let signature = WebhookSignature(secret: Self.secret).header(for: body)
        let (ping, pong) = try await Self.send(server, event: "ping", delivery: "p-1", body: body, signature: signature)
        #expect(ping == 200)
        #expect(pong["status"]?.stringValue == "pong")
        let (push, ignored) = try await Self.send(
            server, event: "push", delivery: "p-2", body: body, signature: signature)
        #expect(push == 202)
        #expect(ignored["status"]?.stringValue == "ignored")
        #expect(try await Self.storedCount(database) == 0)
    }

    @Test("without a configured secret, webhooks are refused rather than accepted unsigned")
    func noSecretRefuses() async throws {
        let (server, database, _) = try await Self.start(secret: nil)
        defer { server.task.cancel() }
        let (status, reply) = try await Self.send(
            server, event: "pull_request", delivery: "n-1", body: Self.payload(), signature: nil)
        #expect(status == 403)
        #expect(reply["error"]?["message"]?.stringValue?.contains("GITHUB_WEBHOOK_SECRET") == true)
        #expect(try await Self.storedCount(database) == 0)
    }
}
