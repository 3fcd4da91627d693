import Hummingbird
import JSON
import ServiceKit

/// The dashboard's routes (HTML for browsers; `GET /` is negotiated in
/// `DeploymentController`): versions, compare, runs, the predict form and its script.
struct DashboardController: APIController {
    let dashboard: Dashboard

    /// Run ids as `APIRoute.positiveID` documents them.
    static let ids: ClosedRange<Int64> = 1...9_007_199_254_740_991

    var endpoints: DocumentedRoutes {
        let routes = DocumentedRoutes()
        let dashboard = dashboard
        routes.on(
            APIRoute(
                .get, "/versions/:version",
                "Everything recorded about a deployed version: metrics, gates, features, data, timings, log (HTML).")
        ) { _, context in
            try await dashboard.version(try context.parameters.require("version"))
        }
        routes.on(
            APIRoute(
                .get, "/compare", "Two versions side by side: metrics, parameters, features, data, gates (HTML).",
                query: [
                    "a": .object(["type": .string("string"), "minLength": .number(1)]),
                    "b": .object(["type": .string("string"), "minLength": .number(1)]),
                ], requiredQuery: ["a", "b"])
        ) { request, _ in
            try await dashboard.compare(
                a: request.uri.queryParameters["a"].map(String.init),
                b: request.uri.queryParameters["b"].map(String.init))
        }
        routes.on(
            APIRoute(
                .get, "/runs",
                "Every training run (of `model`, when given), newest first, filterable by status (HTML; JSON is the trainer's).",
                query: [
                    "status": .object([
                        "type": .string("string"), "enum": .array(RunsPage.statuses.map(JSONValue.string)),
                    ]),
                    "before": APIRoute.positiveID,
                    "model": ModelsController.nameSchema,
                ])
        ) { request, _ in
            let status = request.uri.queryParameters["status"].map(String.init)
            if let status, !RunsPage.statuses.contains(status) {
                throw APIError.validation([
                    FieldProblem(
                        field: "status", problem: "must be one of \(RunsPage.statuses.joined(separator: ", "))")
                ])
            }
            var before: Int64?
            if let text = request.uri.queryParameters["before"] {
                guard let value = Int64(text), Self.ids.contains(value) else {
                    throw APIError.validation([
                        FieldProblem(field: "before", problem: "must be a run id (1 to 2^53 - 1)")
                    ])
                }
                before = value
            }
            return try await dashboard.runs(status: status, before: before, model: try Self.model(request))
        }
        routes.on(
            APIRoute(
                .get, "/runs/:id", "One training run: outcome, reason, gates, log (HTML).",
                parameters: ["id": APIRoute.positiveID])
        ) { _, context in
            guard let id = Int64(try context.parameters.require("id")), Self.ids.contains(id) else {
                throw APIError.validation([FieldProblem(field: "id", problem: "must be a run id (1 to 2^53 - 1)")])
            }
            return try await dashboard.run(id)
        }
        routes.on(
            APIRoute(
                .get, "/predict",
                "A form built from a live model's features (`model`, or the only one) that calls its predict route (HTML).",
                query: ["model": ModelsController.nameSchema])
        ) { request, _ in
            try dashboard.predict(model: try Self.model(request))
        }
        routes.on(APIRoute(.get, "/static/dashboard.js", "The dashboard's script (compare picking, the predict form)."))
        {
            _, _ in
            StaticAsset.response(DashboardScript.source, type: "text/javascript; charset=utf-8")
        }
        return routes
    }

    /// The `model` query parameter: absent, or a non-empty name (a 422 naming it otherwise).
    static func model(_ request: Request) throws -> String? {
        guard let value = request.uri.queryParameters["model"].map(String.init) else { return nil }
        guard !value.isEmpty, value.utf8.count <= 200 else {
            throw APIError.validation([FieldProblem(field: "model", problem: "must be a model's name (1 to 200 bytes)")]
            )
        }
        return value
    }
}
