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

/// `POST /webhook`: GitHub events, signature checked before anything is read,
/// each delivery id applied once. A `pull_request` event upserts the PR in
/// the same transaction that records the delivery; a merge notifies trainers.
struct WebhookController: APIController {
    let database: PostgresClient
    let signature: WebhookSignature?
    let loader: SingerPostgresLoader
    /// The followed repositories' `owner/name`: an event about another one is ignored.
    let repositories: [String]
    /// GitHub caps payloads at 25 MB.
    static let maxBody = 25 << 20
    /// The longest `X-GitHub-Delivery` stored.
    static let maxDeliveryID = 200

    private struct Reply: Encodable {
        let status: String
        let delivery: String?
        let detail: String?
    }

    var endpoints: DocumentedRoutes {
        DocumentedRoutes().on(
            APIRoute(
                .post, "/webhook",
                "GitHub webhook (X-Hub-Signature-256 checked, deliveries applied once). Headers X-GitHub-Event, X-GitHub-Delivery and X-Hub-Signature-256 are required.",
                requestBody: APIRoute.json(.object(["type": .string("object")])))
        ) { request, context in
            do {
                return try await handle(request, context: context)
            } catch let error as APIError {
                let result =
                    switch error.status {
                    case .unauthorized: "bad_signature"
                    case .forbidden: "refused"
                    default: "invalid"
                    }
                VCSMetrics.webhook(event: request.headers[.xGitHubEvent], result: result)
                throw error
            }
        }
    }

    func handle(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let signature else {
            throw APIError(.forbidden, "webhooks are refused: GITHUB_WEBHOOK_SECRET is not set")
        }
        let body = try await request.collectBody(upTo: Self.maxBody)
        let bytes = Array(body.readableBytesView)
        guard signature.isValid(request.headers[.xHubSignature256], body: bytes) else {
            context.logger.warning("webhook with a missing or wrong signature refused")
            throw APIError(.unauthorized, "X-Hub-Signature-256 is missing or does not match the body")
        }
        let event = request.headers[.xGitHubEvent] ?? ""
        guard let delivery = request.headers[.xGitHubDelivery], !delivery.isEmpty else {
            throw APIError.validation([FieldProblem(field: "X-GitHub-Delivery", problem: "header is required")])
        }
        // GitHub's ids are UUIDs; a long one would exceed the index's row size and fail as a 500.
        guard delivery.utf8.count <= Self.maxDeliveryID else {
            throw APIError.validation([
                FieldProblem(field: "X-GitHub-Delivery", problem: "is longer than \(Self.maxDeliveryID) bytes")
            ])
        }
        if event == "ping" {
            VCSMetrics.webhook(event: event, result: "pong")
            return try JSONResponse.make(Reply(status: "pong", delivery: delivery, detail: nil))
        }
        guard event == "pull_request" else {
            VCSMetrics.webhook(event: event, result: "ignored")
            return try JSONResponse.make(
                Reply(status: "ignored", delivery: delivery, detail: "event \"\(event)\" is not used"),
                status: .accepted)
        }
        let payload: JSONValue
        do {
            payload = try JSONValue.parse(bytes)
        } catch {
            throw APIError(.badRequest, "the body is not valid JSON")
        }
        guard let pull = payload["pull_request"] else {
            throw APIError.validation([
                FieldProblem(field: "pull_request", problem: "is required for a pull_request event")
            ])
        }
        // Routed by the repository it names (the payload's, else its pull request's base).
        let repository = (payload["repository"]?["full_name"] ?? pull["base"]?["repo"]?["full_name"])?.stringValue
        if let repository, !repositories.contains(repository) {
            VCSMetrics.webhook(event: event, result: "ignored")
            return try JSONResponse.make(
                Reply(
                    status: "ignored", delivery: delivery, detail: "repository \"\(repository)\" is not followed here"),
                status: .accepted)
        }
        let layout = PullRequestsStream.layout
        let staged: FlatRecord
        do {
            let flat = try layout.flatten(
                PullRequestsStream.transform(pull), sequence: SingerTarget.sequenceNow(),
                receivedAt: Date().postgresText, tableVersion: nil)
            staged = flat
        } catch let rejection as RecordRejection {
            context.logger.error(
                "rejected record",
                metadata: ["stream": "pull_requests", "key": "\(rejection.key)", "field": "\(rejection.field)"])
            throw APIError.validation([
                FieldProblem(field: "pull_request.\(rejection.field)", problem: rejection.problem)
            ])
        }
        let action = payload["action"]?.stringValue ?? ""
        let merged = action == "closed" && pull["merged"]?.boolValue == true
        // A push to an open pull request (or its opening): the trainer previews its head.
        let pushed = ["opened", "synchronize", "reopened"].contains(action) && pull["state"]?.stringValue == "open"
        let loader = self.loader
        let loaded: SingerLoadResult?
        do {
            loaded = try await database.transaction { connection in
                guard try WebhookDeliveries.claim(connection, delivery: delivery, event: event) else { return nil }
                let loaded = try loader.load([staged], layout: layout, on: connection)
                if merged || pushed {
                    try (merged ? PullRequestsNotice(merged: 1) : PullRequestsNotice(pushed: 1)).send(on: connection)
                }
                return loaded
            }
        } catch {
            loader.reset()
            throw error
        }
        let applied = loaded != nil
        if let loaded { VCSMetrics.singerRows(loaded.rowsByTable) }
        context.logger.info(
            "webhook",
            metadata: [
                "delivery": "\(delivery)", "pr": "\(staged.key.joined())", "merged": "\(merged)",
                "applied": "\(applied)",
            ])
        VCSMetrics.webhook(event: event, result: applied ? "applied" : "duplicate")
        return try JSONResponse.make(
            Reply(status: applied ? "applied" : "duplicate", delivery: delivery, detail: nil),
            status: .ok)
    }
}
