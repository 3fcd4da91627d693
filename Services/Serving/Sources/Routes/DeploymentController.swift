import Foundation
import Hummingbird
import JSON
import Migrations
import Postgres
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
            let version = try await Self.rollback(database)
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
                    ])), success: .accepted, admin: true)
        ) { request, _ in
            try admin.authorize(request)
            let body = try await request.collectBody(upTo: 4096)
            guard let json = try? JSONValue.parse(body.readableBytesView) else {
                throw APIError(.badRequest, "the body must be JSON like {\"version\": \"…\"}")
            }
            guard let version = json["version"]?.stringValue, !version.isEmpty else {
                throw APIError.validation([FieldProblem(field: "version", problem: "is required (a version name)")])
            }
            try await Self.redeploy(database, version: version)
            return try JSONResponse.make(["deployed": version], status: .accepted)
        }
        return routes
    }

    /// Re-deploys the version that was live before the current one, walking
    /// back the history of live versions (v3 → v2 → v1, never forward again)
    /// past versions a rollback rule marked bad; every serving replica follows
    /// through NOTIFY. 409 when nothing is earlier.
    static func rollback(_ database: PostgresClient) async throws -> String {
        let target: String? = try await database.transaction { connection in
            let live = try LiveHistory.load(connection)
            guard let previous = live.previous else { return nil }
            try connection.query(
                """
                INSERT INTO deployments (model_name, version, reason, kind)
                VALUES (\(previous.model), \(previous.version), 'rollback', 'rollback')
                """)
            try connection.notify(Schema.deploymentsChannel, payload: previous.version)
            return previous.version
        }
        guard let target else { throw APIError(.conflict, "there is no earlier version to roll back to") }
        return target
    }

    /// Deploys `version` as an admin's explicit choice, clearing a bad mark. 404 for an unknown version.
    static func redeploy(_ database: PostgresClient, version: String) async throws {
        let found: Bool = try await database.transaction { connection in
            try connection.query("LOCK TABLE deployments IN SHARE ROW EXCLUSIVE MODE")
            let rows = try connection.query(
                """
                UPDATE model_versions SET marked_bad_at = NULL, marked_bad_reason = NULL
                WHERE version = \(version) RETURNING model_name
                """)
            guard let model: String = try rows.first?.decode("model_name") else { return false }
            try connection.query(
                """
                INSERT INTO deployments (model_name, version, reason, kind)
                VALUES (\(model), \(version), 'redeployed by an admin', 'deploy')
                """)
            try connection.notify(Schema.deploymentsChannel, payload: version)
            return true
        }
        guard found else { throw APIError(.notFound, "no model version \"\(version)\"") }
    }
}
