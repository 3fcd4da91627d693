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
        routes.on(
            APIRoute(
                .get, "/monitoring",
                "Drift (per feature and for the prediction) and live metrics from ground truth, newest report per version."
            )
        ) { _, _ in
            let reports = try await monitor.latest()
            let rules = try await RuleEvaluationRecord.latest(
                monitor.database, versions: Array(Set(reports.map(\.modelVersion))).sorted())
            return try JSONResponse.make(MonitoringAnswer(reports: reports, interval: monitor.interval, rules: rules))
        }
        routes.on(
            APIRoute(
                .post, "/monitoring/reports", "Compute the reports for the current window now.", success: .created,
                admin: true)
        ) { request, _ in
            try admin.authorize(request)
            let reports = try await monitor.compute()
            MonitoringGauges.set(reports)
            return try JSONResponse.make(
                MonitoringAnswer(reports: reports, interval: monitor.interval), status: .created)
        }
        return routes
    }
}
