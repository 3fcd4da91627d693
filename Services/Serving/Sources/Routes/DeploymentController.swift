import Foundation
import Hummingbird
import JSON
import Migrations
import Postgres
import Registry
import ServiceKit

/// `GET /` (the deployed model, JSON or an HTML page for browsers),
/// `GET /deployments`, `POST /deployments/rollback`, `POST /deployments` (an explicit redeploy),
/// each also under `/models/{name}` for one of several models.
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
            if (request.headers[.accept] ?? "").contains("text/html") {
                return try await dashboard.home(model: try DashboardController.model(request))
            }
            return try JSONResponse.make(ModelDescription(try await store.resolve(nil)))
        }
        for prefix in ["", "/models/:name"] {
            let parameters = prefix.isEmpty ? [:] : ["name": ModelsController.nameSchema]
            let which = prefix.isEmpty ? "the only model deployed" : "the model named in the path"
            routes.on(
                APIRoute(
                    .get, prefix + "/deployments", "Deployment history of \(which), newest first.",
                    parameters: parameters, query: PageLimit.query)
            ) { request, context in
                let limit = try PageLimit.of(request)
                let model = try await ModelsController.deployedModel(context.parameters.get("name"), database: database)
                return try JSONResponse.make(try await DeploymentRecord.history(database, model: model, limit: limit))
            }
            routes.on(
                APIRoute(
                    .post, prefix + "/deployments/rollback",
                    "Re-deploy the previous version of \(which) on every replica (other models are untouched).",
                    success: .accepted, parameters: parameters, admin: true)
            ) { request, context in
                try admin.authorize(request)
                let model = try await ModelsController.deployedModel(context.parameters.get("name"), database: database)
                guard let model, let version = try await Deployments.rollBack(database, model: model) else {
                    throw APIError(.conflict, "there is no earlier version to roll back to")
                }
                return try JSONResponse.make(["rolled_back_to": version], status: .accepted)
            }
            routes.on(
                APIRoute(
                    .post, prefix + "/deployments",
                    "Deploy an earlier version of \(which) on every replica, even one a rollback rule marked bad (the mark is cleared).",
                    requestBody: APIRoute.json(
                        .object([
                            "type": .string("object"), "required": .array([.string("version")]),
                            "properties": .object([
                                "version": .object([
                                    "type": .string("string"), "minLength": .number(1),
                                    "pattern": .string("^[^\\u0000]+$"),
                                ])
                            ]),
                        ])), success: .accepted, otherSuccesses: [.ok], parameters: parameters, admin: true)
            ) { request, context in
                try admin.authorize(request)
                let body = try await request.collectBody(upTo: 4096)
                guard let json = try? JSONValue.parse(body.readableBytesView) else {
                    throw APIError(.badRequest, "the body must be JSON like {\"version\": \"…\"}")
                }
                guard let version = json["version"]?.stringValue, !version.isEmpty else {
                    throw APIError.validation([FieldProblem(field: "version", problem: "is required (a version name)")])
                }
                if let problem = StoredText.problem(version, field: "version") { throw APIError.validation([problem]) }
                // A version names its model: the unprefixed route redeploys any, the prefixed one only its model's.
                let name = context.parameters.get("name")
                if name != nil { _ = try await ModelsController.deployedModel(name, database: database) }
                switch try await Deployments.redeploy(database, version: version, model: name) {
                case .deployed: return try JSONResponse.make(["deployed": version], status: .accepted)
                case .alreadyLive:
                    return try JSONResponse.make(["deployed": version, "unchanged": "it is live already"])
                case .unknownVersion:
                    throw APIError(.notFound, "no model version \"\(version)\"" + (name.map { " of \"\($0)\"" } ?? ""))
                }
            }
        }
        return routes
    }
}
