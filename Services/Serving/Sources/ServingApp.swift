import Foundation
import Hummingbird
import Logging
import Postgres
import ServiceKit
import ServiceLifecycle

/// Builds the `serving` application: database, model watcher, prediction log, routes.
public enum ServingApp {
    /// The application, ready to run: connects to Postgres (migrating it) and
    /// wires the services; `run()` serves until SIGTERM/SIGINT.
    public static func buildApplication(configuration: ServingConfiguration, logger: Logger) async throws
        -> some ApplicationProtocol
    {
        let database = try await DatabaseStartup.connect(url: configuration.databaseURL, logger: logger)
        if configuration.predictionIDField != nil {
            // Feedback by business id looks predictions up by content: a GIN index over the
            // logged instances (built once; writes wait while it builds on an existing log).
            try await database.query(
                "CREATE INDEX IF NOT EXISTS prediction_log_ids ON prediction_log USING gin ((inputs::jsonb) jsonb_path_ops)"
            )
        }
        let parts = try Parts(configuration: configuration, database: database, logger: logger)
        ServingMetrics.declare()
        var services: [any Service] = [
            database, parts.log, parts.watcher, parts.monitor, parts.rollups, parts.retention,
        ]
        if let grpcPort = configuration.grpcPort {
            services.append(
                InferenceGRPCServer(
                    host: configuration.server.host, port: grpcPort,
                    limits: GRPCListenerLimits(
                        idleTimeout: configuration.server.idleTimeout,
                        maxConnections: configuration.server.maxConnections,
                        maxConcurrentStreams: configuration.grpcMaxConcurrentStreams),
                    service: InferenceGRPCService(
                        scorer: parts.scorer, maxMessageBytes: configuration.maxBodyBytes, logger: logger),
                    logger: logger))
        }
        return ServiceHost.application(
            name: "serving", server: configuration.server, port: configuration.port, router: parts.router,
            services: services, logger: logger)
    }

    /// What the application is made of, for tests that drive the router in-process.
    public struct Parts {
        public let store: ModelStore
        public let log: PredictionLog
        public let watcher: DeploymentWatcher
        public let monitor: DriftMonitor
        public let rollups: RollupSealer
        public let retention: PredictionLogRetention
        public let router: Router<AppRequestContext>
        /// Validation, scoring and logging, shared by every prediction route and gRPC.
        let scorer: PredictionScorer

        public init(configuration: ServingConfiguration, database: PostgresClient, logger: Logger) throws {
            store = ModelStore()
            log = try PredictionLog(database: database, spillDirectory: configuration.spillDirectory, logger: logger)
            watcher = DeploymentWatcher(
                database: database, store: store, artifactsDirectory: configuration.artifactsDirectory,
                pollInterval: configuration.pollInterval, logger: logger)
            monitor = DriftMonitor(
                database: database, store: store, artifactsDirectory: configuration.artifactsDirectory,
                interval: configuration.monitoringInterval, logger: logger)
            rollups = RollupSealer(
                database: database, monitor: monitor, interval: configuration.rollupInterval, logger: logger)
            retention = PredictionLogRetention(
                database: database, days: configuration.predictionRetentionDays, logger: logger)
            scorer = PredictionScorer(
                store: store, log: log, maxBodyBytes: configuration.maxBodyBytes,
                maxInstances: configuration.maxInstances, idField: configuration.predictionIDField)
            router = ServingApp.makeRouter(
                configuration: configuration, database: database, scorer: scorer, monitor: monitor)
        }
    }

    /// All routes. Ready means a model is loaded: predictions do not need
    /// Postgres (the log spills while it is away), so an outage does not take
    /// replicas out of a load balancer.
    static func makeRouter(
        configuration: ServingConfiguration, database: PostgresClient, scorer: PredictionScorer, monitor: DriftMonitor
    ) -> Router<AppRequestContext> {
        let store = scorer.store
        let dashboard = Dashboard(
            database: database, models: store, artifactsDirectory: configuration.artifactsDirectory,
            githubRepository: configuration.githubRepository)
        return ServiceRouter.build(
            title: "Conveyor serving",
            readiness: { store.model == nil ? ["no model loaded"] : [] }, maxBodyBytes: configuration.maxBodyBytes,
            controllers: [
                DeploymentController(
                    database: database, store: store, admin: AdminToken(configuration.adminToken), dashboard: dashboard),
                DashboardController(dashboard: dashboard),
                PredictController(scorer: scorer),
                InferenceController(scorer: scorer),
                MonitoringController(monitor: monitor, admin: AdminToken(configuration.adminToken)),
                FeedbackController(
                    database: database, monitor: monitor, lateAfter: configuration.feedbackLateAfter,
                    idField: configuration.predictionIDField),
            ], nav: Dashboard.nav)
    }
}
