import Hummingbird

/// Builds a service's router: the shared middleware (JSON errors, request
/// metrics), the operations routes, and each controller's routes, all
/// recorded in one catalog from which the API document is generated.
public enum ServiceRouter {
    /// `maxBodyBytes`: the largest body any route accepts; a larger
    /// `Content-Length` is answered 413 at once. `nav`: the links of every
    /// page's header (`/docs` and, in serving, the dashboard). `details`:
    /// facts `/health/ready` always states (how user code is sandboxed, say).
    public static func build(
        title: String, readiness: @escaping ReadinessCheck, maxBodyBytes: Int, controllers: [any APIController],
        nav: [PageRenderer.NavLink] = [PageRenderer.NavLink("API", "/docs")],
        details: @escaping @Sendable () -> [String: String] = { [:] }
    ) -> Router<AppRequestContext> {
        let router = Router(context: AppRequestContext.self)
        let catalog = RouteCatalog()
        router.add(middleware: ErrorMiddleware(catalog: catalog, maxBodyBytes: maxBodyBytes))
        router.add(middleware: MetricsMiddleware())
        let operations = OperationsController(
            title: title, readiness: readiness, details: details, catalog: catalog, nav: nav)
        for controller in controllers + [operations] {
            let endpoints = controller.endpoints
            router.addRoutes(endpoints.collection)
            catalog.add(endpoints.descriptions)
        }
        return router
    }
}
