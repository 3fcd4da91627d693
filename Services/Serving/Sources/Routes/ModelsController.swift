import Foundation
import Hummingbird
import JSON
import Postgres
import Registry
import ServiceKit

/// `GET /models` (every deployed model, its live version and what this
/// replica has loaded) and `GET /models/{name}` (one model, as `GET /` describes
/// the only one).
struct ModelsController: APIController {
    let database: PostgresClient
    let store: ModelStore
    /// Renders `GET /models` for browsers.
    let dashboard: Dashboard

    /// The schema of a model name in a path.
    static let nameSchema = JSONValue.object([
        "type": .string("string"), "minLength": .number(1), "maxLength": .number(200),
    ])

    /// One entry of `GET /models`.
    struct Entry: Encodable {
        let name: String
        /// The live version (the newest deployment of the model).
        let version: String
        let deployedAt: Date
        /// The version this replica answers with (nil until it is loaded, or when its load failed).
        let loadedVersion: String?
        let predict: String

        enum CodingKeys: String, CodingKey {
            case name, version, predict
            case deployedAt = "deployed_at"
            case loadedVersion = "loaded_version"
        }
    }

    var endpoints: DocumentedRoutes {
        let routes = DocumentedRoutes()
        let (database, store, dashboard) = (database, store, dashboard)
        routes.on(
            APIRoute(
                .get, "/models",
                "Every deployed model: its live version, and the version this replica has loaded (for browsers: the models page)."
            )
        ) { request, _ in
            if (request.headers[.accept] ?? "").contains("text/html") { return try await dashboard.modelList() }
            let live = try await DeploymentRecord.live(database)
            return try JSONResponse.make([
                "models": live.map { deployment in
                    Entry(
                        name: deployment.modelName, version: deployment.version, deployedAt: deployment.deployedAt,
                        loadedVersion: store.model(named: deployment.modelName)?.deployment.version,
                        predict: "/models/\(deployment.modelName)/predict")
                }
            ])
        }
        routes.on(
            APIRoute(
                .get, "/models/:name",
                "One model: version, pull request, commit, metrics, gates, features (what GET / says of the only one).",
                parameters: ["name": Self.nameSchema])
        ) { _, context in
            try JSONResponse.make(ModelDescription(try await store.resolve(context.parameters.get("name"))))
        }
        return routes
    }

    /// The model a route about deployments is for, by the deployments table (so it answers
    /// before this replica loads anything): `name` when some deployment has it (404 naming the
    /// models otherwise); without a name, the only model deployed (nil when none is; 409 naming
    /// them when there are several).
    static func deployedModel(_ name: String?, database: PostgresClient) async throws -> String? {
        let names = try await DeploymentRecord.modelNames(database)
        let choices = names.map { "\"\($0)\"" }.joined(separator: ", ")
        if let name {
            guard names.contains(name) else {
                throw APIError(
                    .notFound,
                    "no model named \"\(name)\" was deployed" + (names.isEmpty ? "" : "; the models are \(choices)"))
            }
            return name
        }
        guard names.count <= 1 else {
            throw APIError(
                .conflict, "several models are deployed (\(choices)): name one in the path, /models/{name}/…")
        }
        return names.first
    }
}
