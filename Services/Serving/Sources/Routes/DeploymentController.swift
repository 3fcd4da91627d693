import Foundation
import Hummingbird
import JSON
import Migrations
import Postgres
import Registry
import ServiceKit

/// `GET /` (the deployed model, JSON or an HTML page for browsers),
/// `GET /deployments`, `POST /deployments/rollback`, `POST /deployments` (an explicit redeploy).
struct DeploymentController: APIController {
    let database: PostgresClient
    let store: ModelStore
    let admin: AdminToken
    let dashboard: Dashboard

    var endpoints: DocumentedRoutes {
        let routes = DocumentedRoutes()
        let (database, store, admin, dashboard) = (database, store, admin, dashboard)
        routes.on(
            APIRoute(
                .get, "/",
                "The deployed model: version, pull request, commit, metrics, gates, features (for browsers: the dashboard)."
            )
        ) { request, _ in
            // Browsers get the dashboard (also before the first deployment); API clients the JSON.
            if (request.headers[.accept] ?? "").contains("text/html") { return try await dashboard.home() }
            guard let model = store.model else { throw APIError(.serviceUnavailable, "no model is deployed yet") }
            return try JSONResponse.make(ModelDescription(model))
        }
        routes.on(
            APIRoute(
                .get, "/deployments", "Deployment history, newest first.",
                query: PageLimit.query)
        ) { request, _ in
            let limit = try PageLimit.of(request)
            return try JSONResponse.make(try await DeploymentRecord.history(database, limit: limit))
        }
        routes.on(
            APIRoute(
                .post, "/deployments/rollback", "Re-deploy the previous version on every replica.",
                success: .accepted, admin: true)
        ) { request, _ in
            try admin.authorize(request)
            guard let version = try await Deployments.rollBack(database) else {
                throw APIError(.conflict, "there is no earlier version to roll back to")
            }
            return try JSONResponse.make(["rolled_back_to": version], status: .accepted)
        }
        routes.on(
            APIRoute(
                .post, "/deployments",
                "Deploy an earlier version on every replica, even one a rollback rule marked bad (the mark is cleared).",
                requestBody: APIRoute.json(
                    .object([
                        "type": .string("object"), "required": .array([.string("version")]),
                        "properties": .object([
                            "version": .object(["type": .string("string"), "minLength": .number(1)])
                        ]),
                    ])), success: .accepted, otherSuccesses: [.ok], admin: true)
        ) { request, _ in
            try admin.authorize(request)
            let body = try await request.collectBody(upTo: 4096)
            guard let json = try? JSONValue.parse(body.readableBytesView) else {
                throw APIError(.badRequest, "the body must be JSON like {\"version\": \"…\"}")
            }
            guard let version = json["version"]?.stringValue, !version.isEmpty else {
                throw APIError.validation([FieldProblem(field: "version", problem: "is required (a version name)")])
            }
            if let problem = StoredText.problem(version, field: "version") { throw APIError.validation([problem]) }
            switch try await Deployments.redeploy(database, version: version) {
            case .deployed: return try JSONResponse.make(["deployed": version], status: .accepted)
            case .alreadyLive: return try JSONResponse.make(["deployed": version, "unchanged": "it is live already"])
            case .unknownVersion: throw APIError(.notFound, "no model version \"\(version)\"")
            }
        }
        return routes
    }
}
