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

    /// Installs JSON logging and Prometheus metrics; call once at start.
    public static func bootstrap(logLevel: Logger.Level) {
        LogSetup.bootstrap(level: logLevel)
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
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

    /// An application serving `router` on `server.host:port` with `services`
    /// run beside the server; services stop in reverse order after the server,
    /// so list the database client first.
    public static func application(
        name: String, server: HTTPServerSettings, port: Int, router: Router<AppRequestContext>,
        services: [any Service], logger: Logger
    ) -> some ApplicationProtocol {
        let (seconds, attoseconds) = server.idleTimeout.components
        return Application(
            router: router,
            server: .http1(
                configuration: .init(idleTimeout: .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000))),
            configuration: .init(
                address: .hostname(server.host, port: port), serverName: name,
                availableConnectionsDelegate: MaximumAvailableConnections(server.maxConnections)),
            services: services,
            onServerRunning: { channel in
                logger.info("listening", metadata: ["address": "\(channel.localAddress?.description ?? "?")"])
            },
            logger: logger)
    }
}
