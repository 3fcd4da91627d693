import DurationUnits
import Foundation
import Hummingbird
import JSON
import ServiceKit

/// `GET /monitoring` (the newest drift and live-performance report of each
/// version) and `POST /monitoring/reports` (admin: compute one now).
struct MonitoringController: APIController {
    let monitor: DriftMonitor
    let admin: AdminToken

    var endpoints: DocumentedRoutes {
        let routes = DocumentedRoutes()
        let (monitor, admin) = (monitor, admin)
        for prefix in ["", "/models/:name"] {
            let parameters = prefix.isEmpty ? [:] : ["name": ModelsController.nameSchema]
            let which = prefix.isEmpty ? "the only model deployed" : "the model named in the path"
            routes.on(
                APIRoute(
                    .get, prefix + "/monitoring",
                    "Drift (per feature and for the prediction) and live metrics from ground truth, newest report per version of \(which).",
                    parameters: parameters)
            ) { _, context in
                let model = try await ModelsController.deployedModel(
                    context.parameters.get("name"), database: monitor.database)
                let reports = try await monitor.latest(model: model)
                let rules = try await RuleEvaluationRecord.latest(
                    monitor.database, versions: Array(Set(reports.map(\.modelVersion))).sorted())
                return try JSONResponse.make(
                    MonitoringAnswer(reports: reports, interval: monitor.interval, rules: rules))
            }
            routes.on(
                APIRoute(
                    .post, prefix + "/monitoring/reports",
                    "Compute the reports of \(which) for the current window now.",
                    success: .created, parameters: parameters, admin: true)
            ) { request, context in
                try admin.authorize(request)
                let model = try await ModelsController.deployedModel(
                    context.parameters.get("name"), database: monitor.database)
                let reports = try await monitor.compute(model: model)
                MonitoringGauges.set(reports)
                return try JSONResponse.make(
                    MonitoringAnswer(reports: reports, interval: monitor.interval), status: .created)
            }
        }
        return routes
    }
}
