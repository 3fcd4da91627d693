import Foundation
import Hummingbird
import Logging
import Postgres
import ServiceKit

/// Wires the `serving` service: database, model watcher, prediction log, routes.
public enum ServingApp {
    /// Runs until SIGTERM/SIGINT.
    public static func run(configuration: ServingConfiguration, logger: Logger) async throws {
        let database = try await DatabaseStartup.connect(url: configuration.databaseURL, logger: logger)
        let store = ModelStore()
        let log = try PredictionLog(
            database: database, spillDirectory: configuration.spillDirectory, logger: logger)
        let watcher = DeploymentWatcher(
            database: database, databaseURL: configuration.databaseURL, store: store,
            artifactsDirectory: configuration.artifactsDirectory, pollInterval: configuration.pollInterval,
            logger: logger)
        let router = makeRouter(configuration: configuration, database: database, store: store, log: log)
        defer { Task { await database.shutdown() } }
        try await ServiceHost.run(
            name: "serving", port: configuration.port, router: router, services: [log, watcher], logger: logger)
    }

    /// All routes. Ready means a model is loaded: predictions do not need
    /// Postgres (the log spills while it is away), so an outage does not take
    /// replicas out of a load balancer.
    public static func makeRouter(
        configuration: ServingConfiguration, database: PostgresClient, store: ModelStore, log: PredictionLog
    ) -> Router<BasicRequestContext> {
        let router = ServiceHost.makeRouter(
            title: "Conveyor serving",
            readiness: { store.model == nil ? ["no model loaded"] : [] },
            routes: { ServingRoutesDescription.routes(for: store.model) })
        let scorer = PredictionScorer(
            store: store, log: log, maxBodyBytes: configuration.maxBodyBytes, maxInstances: configuration.maxInstances)
        let predict = PredictRoute(scorer: scorer)
        router.post("/predict") { request, _ in try await predict.handle(request) }
        InferenceProtocolRoutes.add(to: router, scorer: scorer)
        DeploymentRoutes.add(to: router, database: database, store: store, admin: AdminToken(configuration.adminToken))
        return router
    }
}
