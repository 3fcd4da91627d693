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

    /// Re-deploys the version that was live before the current one, walking
    /// back the history of live versions (v3 → v2 → v1, never forward again);
    /// every serving replica follows through NOTIFY. 409 when nothing is earlier.
    static func rollback(_ database: PostgresClient) async throws -> String {
        let target: String? = try await database.transaction { connection in
            try connection.query("LOCK TABLE deployments IN SHARE ROW EXCLUSIVE MODE")
            let history = try connection.query("SELECT version, model_name, reason FROM deployments ORDER BY id")
                .map {
                    (
                        try $0.decode("version", as: String.self), try $0.decode("model_name", as: String.self),
                        try $0.decode("reason", as: String.self)
                    )
                }
            let live = LiveHistory(history.map { (version: $0.0, model: $0.1, isRollback: $0.2 == "rollback") })
            guard let previous = live.previous else { return nil }
            try connection.query(
                """
                INSERT INTO deployments (model_name, version, reason)
                VALUES (\(previous.model), \(previous.version), 'rollback')
                """)
            try connection.notify(Schema.deploymentsChannel, payload: previous.version)
            return previous.version
        }
        guard let target else { throw APIError(.conflict, "there is no earlier version to roll back to") }
        return target
    }
}

/// The versions that were live, oldest first, replayed from the deployments:
/// a deployment pushes its version; a rollback pops back to the version it restored.
struct LiveHistory {
    private(set) var stack: [(version: String, model: String)] = []

    init(_ deployments: [(version: String, model: String, isRollback: Bool)]) {
        for deployment in deployments {
            if deployment.isRollback, let index = stack.lastIndex(where: { $0.version == deployment.version }) {
                stack.removeSubrange((index + 1)...)
            } else {
                stack.append((deployment.version, deployment.model))
            }
        }
    }

    /// The version live before the current one, if any.
    var previous: (version: String, model: String)? { stack.count >= 2 ? stack[stack.count - 2] : nil }
}
