import Foundation
import HTTPClient
import Hummingbird
import Logging
import Postgres
import ServiceKit

/// Wires the `trainer` service: database, worker, routes.
public enum TrainerApp {
    /// Runs until SIGTERM/SIGINT.
    public static func run(configuration: TrainerConfiguration, logger: Logger) async throws {
        let database = try await DatabaseStartup.connect(url: configuration.databaseURL, logger: logger)
        let http = CurlHTTPClient(concurrency: 1)
        let store = TrainingStore(database: database, branch: configuration.modelBranch, lease: configuration.runLease)
        let worker = TrainerWorker(
            databaseURL: configuration.databaseURL, store: store,
            executor: RunExecutor(
                store: store,
                checkout: SourceCheckout(
                    repositoryURL: configuration.modelRepositoryURL, token: configuration.githubToken,
                    workDirectory: configuration.workDirectory),
                notifier: RunNotifier(
                    client: http, webhookURL: configuration.notifyWebhookURL, smtpURL: configuration.smtpURL,
                    emailTo: configuration.notifyEmailTo, emailFrom: configuration.notifyEmailFrom, logger: logger),
                artifactsDirectory: configuration.artifactsDirectory, workDirectory: configuration.workDirectory,
                runTimeout: configuration.runTimeout, maxDataBytes: configuration.maxDataBytes, logger: logger),
            pollInterval: configuration.pollInterval, logger: logger)
        let router = ServiceHost.makeRouter(
            title: "Conveyor trainer", readiness: { await ServiceHost.checkDatabase(database) },
            routes: { RunRoutes.described })
        RunRoutes.add(to: router, database: database, store: store, admin: AdminToken(configuration.adminToken))
        defer { Task { await database.shutdown() } }
        try await ServiceHost.run(
            name: "trainer", port: configuration.port, router: router, services: [worker], logger: logger)
    }
}
