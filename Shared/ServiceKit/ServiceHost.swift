import DurationUnits
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import Metrics
import Postgres
import Prometheus
import ServiceLifecycle

/// The scaffolding every Conveyor executable shares: logging and metrics
/// bootstrap, and the Hummingbird application that serves a service's router
/// alongside its background services, stopping everything cleanly on
/// SIGTERM/SIGINT (in-flight requests drain first).
public enum ServiceHost {
    /// The process-wide Prometheus registry behind `/metrics`.
    public static let registry = PrometheusCollectorRegistry()

    /// Installs JSON logging and Prometheus metrics, and publishes the build
    /// info of `service`; call once at start.
    public static func bootstrap(service: String, logLevel: Logger.Level) {
        LogSetup.bootstrap(level: logLevel)
        var factory = PrometheusMetricsFactory(registry: registry)
        // Training stages and syncs take seconds to an hour: the default buckets stop at 10 s.
        let long: [Duration] =
            [100, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000, 120_000, 300_000, 600_000]
            .map { .milliseconds($0) } + [.seconds(1800), .seconds(3600)]
        factory.durationHistogramBuckets = ["conveyor_run_stage_seconds": long, "conveyor_vcs_sync_seconds": long]
        // Rows per call to a Python model's worker (adaptive batching coalesces concurrent requests).
        factory.valueHistogramBuckets = ["conveyor_python_batch_rows": [1, 2, 4, 8, 16, 32, 64, 128, 256, 1024]]
        factory.nameAndLabelSanitizer = { name, labels in (prometheusNames[name] ?? name, labels) }
        MetricsSystem.bootstrap(factory)
        BuildInfo.publish(service: service)
    }

    /// Hummingbird's metric names in Prometheus's conventions (counters end in
    /// `_total`, a duration says its unit), so `promtool check metrics` finds
    /// nothing to lint but missing help texts (swift-metrics carries none).
    static let prometheusNames = [
        "hb.requests": "http_server_requests_total",
        "hb.request.errors": "http_server_request_errors_total",
        "http.server.request.duration": "http_server_request_duration_seconds",
    ]

    /// The readiness problem of a database that does not answer, if any.
    public static func checkDatabase(_ database: PostgresClient) async -> [String] {
        do {
            try await database.query("SELECT 1")
            return []
        } catch {
            return ["database: \(error)"]
        }
    }

    /// An application serving `router` on `server.host:port` with `services`
    /// run beside the server; services stop in reverse order after the server,
    /// so list the database client first.
    public static func application(
        name: String, server: HTTPServerSettings, port: Int, router: Router<AppRequestContext>,
        services: [any Service], logger: Logger
    ) -> some ApplicationProtocol {
        let connections = OpenConnections(limit: server.maxConnections)
        let descriptors = DescriptorLimit.atStartup
        return Application(
            router: router,
            server: .http1(
                configuration: .init(
                    additionalChannelHandlers: [HTTPConnectionActivity(connections: connections)],
                    idleTimeout: .nanoseconds(server.idleTimeout.inNanoseconds))),
            configuration: .init(
                address: .hostname(server.host, port: port), serverName: name,
                availableConnectionsDelegate: ConnectionLimit(connections: connections)),
            services: services,
            onServerRunning: { channel in
                logger.info(
                    "listening",
                    metadata: [
                        "address": "\(channel.localAddress?.description ?? "?")",
                        "max_connections": "\(server.maxConnections)",
                        "descriptors_soft": "\(descriptors.soft)", "descriptors_hard": "\(descriptors.hard)",
                        "descriptors_raised_from": "\(descriptors.raisedFrom.map(String.init) ?? "-")",
                    ])
            },
            logger: logger)
    }
}
