import Hummingbird
import JSON

/// What a service reports on `/health/ready`: empty means ready, otherwise
/// the reasons it is not.
public typealias ReadinessCheck = @Sendable () async -> [String]

/// The routes every service has: liveness, readiness, Prometheus metrics, and
/// the API document with its page, generated from the catalog of routes.
struct OperationsController: APIController {
    let title: String
    let readiness: ReadinessCheck
    /// Stated on every `/health/ready` answer, ready or not.
    let details: @Sendable () -> [String: String]
    let catalog: RouteCatalog
    let nav: [PageRenderer.NavLink]

    private struct HealthStatus: Encodable {
        let status: String
        let problems: [String]
        let details: [String: String]?
    }

    var endpoints: DocumentedRoutes {
        let routes = DocumentedRoutes()
        let title = title
        let readiness = readiness
        let details = details
        let catalog = catalog
        routes.on(APIRoute(.get, "/health/live", "Liveness: the process is up.")) { _, _ in
            try JSONResponse.make(["status": "live"])
        }
        routes.on(APIRoute(.get, "/health/ready", "Readiness: 200 when ready, 503 with the reasons otherwise.")) {
            _, _ in
            let problems = await readiness()
            return try JSONResponse.make(
                HealthStatus(
                    status: problems.isEmpty ? "ready" : "not ready", problems: problems,
                    details: { $0.isEmpty ? nil : $0 }(details())),
                status: problems.isEmpty ? .ok : .serviceUnavailable)
        }
        routes.on(APIRoute(.get, "/metrics", "Prometheus metrics (text format).")) { _, _ in
            var buffer: [UInt8] = []
            ServiceHost.registry.emit(into: &buffer)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
        }
        routes.on(APIRoute(.get, "/openapi.json", "This service's OpenAPI 3.1 document.")) { _, _ in
            try JSONResponse.make(APIDocument.document(title: title, routes: catalog.routes))
        }
        let docs = DocsPage.renderer(title: title, nav: nav)
        routes.on(
            APIRoute(.get, "/docs", "Interactive API documentation generated from /openapi.json (HTML).")
        ) { _, _ in
            HTMLResponse.make(DocsPage.render(docs, title: title, routes: catalog.routes))
        }
        routes.on(APIRoute(.get, "/static/conveyor.css", "The pages' stylesheet.")) { _, _ in
            StaticAsset.response(Stylesheet.css, type: "text/css; charset=utf-8")
        }
        routes.on(APIRoute(.get, "/static/docs.js", "The script behind /docs's \"try it\" forms.")) { _, _ in
            StaticAsset.response(DocsPage.script, type: "text/javascript; charset=utf-8")
        }
        return routes
    }
}
