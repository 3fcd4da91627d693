import Foundation
import Hummingbird
import Logging
import Metrics
import Postgres
import Prometheus
import ServiceLifecycle

/// What a service reports on `/health/ready`: empty means ready, otherwise
/// the reasons it is not.
public typealias ReadinessCheck = @Sendable () async -> [String]

/// The scaffolding every Conveyor executable shares: a Hummingbird server with
/// `/health/live`, `/health/ready` and `/metrics`, JSON errors, request
/// metrics, and a service group that stops everything cleanly on SIGTERM/SIGINT.
public enum ServiceHost {
    /// The process-wide Prometheus registry behind `/metrics`.
    public static let registry = PrometheusCollectorRegistry()

    /// Installs JSON logging and Prometheus metrics; call once at start.
    public static func bootstrap(logLevel: Logger.Level) {
        LogSetup.bootstrap(level: logLevel)
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    }

    /// A router with the health, metrics and API-description routes and the
    /// shared middleware. `routes` describes the service's own routes (it is
    /// asked per request, so a service can describe what it serves now).
    public static func makeRouter(
        title: String, readiness: @escaping ReadinessCheck, routes: @escaping @Sendable () async -> [APIRoute]
    ) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/openapi.json") { _, _ in
            try JSONResponse.make(OpenAPI.document(title: title, routes: await routes()))
        }
        router.get("/docs") { _, _ in
            let current = await routes()
            let html = OpenAPI.page(
                title: title, routes: current, document: OpenAPI.document(title: title, routes: current))
            return Response(
                status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: html)))
        }
        router.add(middleware: MetricsMiddleware())
        router.get("/health/live") { _, _ in try JSONResponse.make(["status": "live"]) }
        router.get("/health/ready") { _, _ in
            let problems = await readiness()
            return try JSONResponse.make(
                HealthStatus(status: problems.isEmpty ? "ready" : "not ready", problems: problems),
                status: problems.isEmpty ? .ok : .serviceUnavailable)
        }
        router.get("/metrics") { _, _ in
            var buffer: [UInt8] = []
            registry.emit(into: &buffer)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
        }
        return router
    }

    /// The readiness problem of a database that does not answer, if any.
    public static func checkDatabase(_ database: PostgresClient) async -> [String] {
        do {
            try await database.query("SELECT 1")
            return []
        } catch {
            return ["database: \(error)"]
        }
    }

    /// Serves `router` on `host:port` alongside `services` until SIGTERM/SIGINT,
    /// then drains in-flight requests and stops the services in reverse order.
    public static func run(
        name: String, host: String = "0.0.0.0", port: Int, router: Router<BasicRequestContext>,
        services: [any Service], logger: Logger
    ) async throws {
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: name),
            onServerRunning: { channel in
                logger.info("listening", metadata: ["address": "\(channel.localAddress?.description ?? "?")"])
            },
            logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: services.map { .init(service: $0) } + [.init(service: app)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
        logger.info("stopped")
    }
}

struct HealthStatus: Encodable {
    let status: String
    let problems: [String]
}
