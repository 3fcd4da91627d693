import Foundation
import Hummingbird
import Migrations
import Postgres
import ServiceKit

/// `GET /` (the deployed model, JSON or an HTML page for browsers),
/// `GET /deployments`, `POST /deployments/rollback`.
enum DeploymentRoutes {
    static func add(
        to router: Router<BasicRequestContext>, database: PostgresClient, store: ModelStore, admin: AdminToken
    ) {
        router.get("/") { request, _ -> Response in
            guard let model = store.model else { throw APIError(.serviceUnavailable, "no model is deployed yet") }
            let description = ModelDescription(model)
            if (request.headers[.accept] ?? "").contains("text/html") {
                return Response(
                    status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                    body: .init(byteBuffer: ByteBuffer(string: ModelPage.html(description))))
            }
            return try JSONResponse.make(description)
        }
        router.get("/deployments") { request, _ -> Response in
            let limit = min(500, max(1, Int(request.uri.queryParameters["limit"].map(String.init) ?? "") ?? 50))
            return try JSONResponse.make(try await DeploymentRecord.history(database, limit: limit))
        }
        router.post("/deployments/rollback") { request, _ -> Response in
            try admin.authorize(request)
            let version = try await rollback(database)
            return try JSONResponse.make(["rolled_back_to": version], status: .accepted)
        }
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
