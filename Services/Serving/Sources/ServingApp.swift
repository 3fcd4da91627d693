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
        let log = PredictionLog(database: database, logger: logger)
        let watcher = DeploymentWatcher(
            database: database, databaseURL: configuration.databaseURL, store: store,
            artifactsDirectory: configuration.artifactsDirectory, pollInterval: configuration.pollInterval,
            logger: logger)
        let router = makeRouter(configuration: configuration, database: database, store: store, log: log)
        defer { Task { await database.shutdown() } }
        try await ServiceHost.run(
            name: "serving", port: configuration.port, router: router, services: [log, watcher], logger: logger)
    }

    /// All routes; ready means the database answers and a model is loaded.
    public static func makeRouter(
        configuration: ServingConfiguration, database: PostgresClient, store: ModelStore, log: PredictionLog
    ) -> Router<BasicRequestContext> {
        let router = ServiceHost.makeRouter(
            title: "Conveyor serving",
            readiness: {
                let problems = await ServiceHost.checkDatabase(database)
                return store.model == nil ? ["no model loaded"] + problems : problems
            },
            routes: { ServingRoutesDescription.routes(for: store.model) })
        let predict = PredictRoute(
            store: store, log: log, maxBodyBytes: configuration.maxBodyBytes, maxInstances: configuration.maxInstances)
        router.post("/predict") { request, _ in try await predict.handle(request) }
        DeploymentRoutes.add(to: router, database: database, store: store, admin: AdminToken(configuration.adminToken))
        return router
    }
}
