import Foundation
import Hummingbird
import Logging
import Metrics
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

    /// A router with the health and metrics routes and the shared middleware.
    public static func makeRouter(readiness: @escaping ReadinessCheck) -> Router<BasicRequestContext> {
        let router = Router()
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
