import Artifacts
import Foundation
import HTTPClient
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
            database, parts.objectStoreClient, parts.log, parts.watcher, parts.monitor, parts.rollups, parts.retention,
            TokenRegistry(
                database: database, access: parts.access, pollInterval: configuration.pollInterval, logger: logger),
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
                        scorer: parts.scorer, access: parts.access, maxMessageBytes: configuration.maxBodyBytes,
                        logger: logger),
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
        /// Who may ask for predictions (`PREDICT_AUTH`, the prediction tokens).
        let access: PredictionAccess
        /// Where versions are read from (an object store's local copies, or the shared directory).
        public let artifacts: ArtifactStorage
        /// The object store's HTTP client (libcurl), run beside the server.
        let objectStoreClient: CurlHTTPClient
        /// Python models' environments and workers.
        let python: PythonRuntime

        public init(configuration: ServingConfiguration, database: PostgresClient, logger: Logger) throws {
            store = ModelStore()
            let settings = configuration.artifactSettings
            objectStoreClient = CurlHTTPClient(concurrency: 4)
            artifacts = ArtifactStorage(
                location: settings.location, cacheDirectory: settings.cacheDirectory, settings: settings.s3,
                http: objectStoreClient)
            log = try PredictionLog(database: database, spillDirectory: configuration.spillDirectory, logger: logger)
            python = PythonRuntime(
                settings: PythonRuntime.Settings(
                    workers: configuration.pythonWorkers,
                    memoryLimit: configuration.pythonMemoryLimit == 0 ? nil : configuration.pythonMemoryLimit,
                    predictTimeout: configuration.pythonPredictTimeout, environments: configuration.pythonEnvironments,
                    sandbox: configuration.sandbox, maxBatchRows: configuration.pythonMaxBatch),
                logger: logger)
            watcher = DeploymentWatcher(
                database: database, store: store, artifacts: artifacts, cacheBytes: settings.cacheBytes,
                pollInterval: configuration.pollInterval, python: python, maxLoaded: configuration.maxLoadedModels,
                logger: logger)
            if configuration.maxLoadedModels > 0 {
                store.setLoader { [watcher] name in try await watcher.loadOnDemand(name) }
            }
            monitor = DriftMonitor(
                database: database, store: store, artifacts: artifacts, interval: configuration.monitoringInterval,
                logger: logger)
            rollups = RollupSealer(
                database: database, monitor: monitor, interval: configuration.rollupInterval, logger: logger)
            retention = PredictionLogRetention(
                database: database, days: configuration.predictionRetentionDays, logger: logger)
            scorer = PredictionScorer(
                store: store, log: log, maxBodyBytes: configuration.maxBodyBytes,
                maxInstances: configuration.maxInstances, idField: configuration.predictionIDField)
            access = PredictionAccess(required: configuration.predictAuth)
            router = ServingApp.makeRouter(
                configuration: configuration, database: database, scorer: scorer, monitor: monitor,
                artifacts: artifacts, python: python, access: access)
        }
    }

    /// All routes. Ready means a model (at least one, of several) is loaded: predictions do not need
    /// Postgres (the log spills while it is away), so an outage does not take
    /// replicas out of a load balancer.
    /// Ready means a model is loaded, even while the object store is out of reach (a replica that
    /// answers stays in rotation); the readiness details say where artifacts come from and whether
    /// the store answered its last request.
    static func makeRouter(
        configuration: ServingConfiguration, database: PostgresClient, scorer: PredictionScorer, monitor: DriftMonitor,
        artifacts: ArtifactStorage, python: PythonRuntime, access: PredictionAccess
    ) -> Router<AppRequestContext> {
        let store = scorer.store
        var dashboard = Dashboard(
            database: database, models: store, artifacts: artifacts, githubRepository: configuration.githubRepository)
        dashboard.tokenRequired = configuration.predictAuth
        return ServiceRouter.build(
            title: "Conveyor serving",
            readiness: {
                (store.isEmpty ? ["no model loaded"] : [])
                    + (access.isReady ? [] : ["prediction tokens not loaded yet"])
            }, maxBodyBytes: configuration.maxBodyBytes,
            controllers: [
                DeploymentController(
                    database: database, store: store, admin: AdminToken(configuration.adminToken), dashboard: dashboard),
                DashboardController(dashboard: dashboard),
                ModelsController(database: database, store: store, dashboard: dashboard),
                PredictController(scorer: scorer, access: access),
                InferenceController(scorer: scorer, access: access),
                TokenController(store: TokenStore(database: database), admin: AdminToken(configuration.adminToken)),
                MonitoringController(monitor: monitor, admin: AdminToken(configuration.adminToken)),
                FeedbackController(
                    store: FeedbackStore(database: database), monitor: monitor,
                    lateAfter: configuration.feedbackLateAfter,
                    idField: configuration.predictionIDField, access: access),
            ], nav: Dashboard.nav,
            details: {
                [
                    "artifacts": artifacts.description,
                    "artifact_store": artifacts.isReachable
                        ? "reachable" : "unreachable (retrying; the loaded model keeps serving)",
                    "python": python.status ?? "ready",
                    "sandbox": configuration.sandbox.description,
                ]
            })
    }
}
