import Foundation
import Hummingbird
import Migrations
import Postgres
import ServiceKit

/// `GET /` (the deployed model, JSON or an HTML page for browsers),
/// `GET /deployments`, `POST /deployments/rollback`.
struct DeploymentController: APIController {
    let database: PostgresClient
    let store: ModelStore
    let admin: AdminToken

    var endpoints: DocumentedRoutes {
        let routes = DocumentedRoutes()
        let (database, store, admin) = (database, store, admin)
        routes.on(
            APIRoute(
                .get, "/",
                "The deployed model: version, pull request, commit, metrics, gates, features (HTML for browsers).")
        ) { request, _ in
            guard let model = store.model else { throw APIError(.serviceUnavailable, "no model is deployed yet") }
            let description = ModelDescription(model)
            if (request.headers[.accept] ?? "").contains("text/html") {
                return HTMLResponse.make(ModelPage.html(description))
            }
            return try JSONResponse.make(description)
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
        return routes
    }

    /// Re-deploys the version deployed before the current one; every serving
    /// replica follows through NOTIFY.
    static func rollback(_ database: PostgresClient) async throws -> String {
        let target: String? = try await database.transaction { connection in
            try connection.query("LOCK TABLE deployments IN SHARE ROW EXCLUSIVE MODE")
            let current = try connection.query("SELECT version FROM deployments ORDER BY id DESC LIMIT 1")
            guard let currentVersion = try current.first?.decode("version", as: String.self) else { return nil }
            let previous = try connection.query(
                "SELECT version, model_name FROM deployments WHERE version <> \(currentVersion) ORDER BY id DESC LIMIT 1"
            )
            guard let row = previous.first else { return nil }
            let version: String = try row.decode("version")
            let name: String = try row.decode("model_name")
            try connection.query(
                "INSERT INTO deployments (model_name, version, reason) VALUES (\(name), \(version), 'rollback')")
            try connection.notify(Schema.deploymentsChannel, payload: version)
            return version
        }
        guard let target else { throw APIError(.conflict, "there is no earlier version to roll back to") }
        return target
    }
}
