import Artifacts
import Foundation
import HTTPClient
import Hummingbird
import Logging
import Postgres
import Registry
import ServiceKit
import ServiceLifecycle
import Subprocess

/// Builds the `trainer` application: database, worker, routes.
public enum TrainerApp {
    /// The application, ready to run: connects to Postgres (migrating it) and
    /// wires the worker; `run()` serves until SIGTERM/SIGINT.
    public static func buildApplication(configuration: TrainerConfiguration, logger: Logger) async throws
        -> some ApplicationProtocol
    {
        let database = try await DatabaseStartup.connect(url: configuration.databaseURL, logger: logger)
        if configuration.sandbox.isIsolated {
            logger.info("repository code runs sandboxed", metadata: ["sandbox": "\(configuration.sandbox)"])
        } else {
            logger.warning(
                "repository code runs WITHOUT namespaces (fallback)", metadata: ["sandbox": "\(configuration.sandbox)"])
        }
        let http = CurlHTTPClient(concurrency: 1)
        let objectStoreClient = CurlHTTPClient(concurrency: 4)
        let settings = configuration.artifactSettings
        let artifacts = ArtifactStorage(
            location: settings.location, cacheDirectory: settings.cacheDirectory, settings: settings.s3,
            http: objectStoreClient)
        logger.info("artifacts", metadata: ["store": "\(artifacts)"])
        let store = TrainingStore(
            database: database, repositories: configuration.repositories, lease: configuration.runLease)
        let writer = GitHubWriter(
            client: http, apiURL: configuration.githubAPIURL, token: configuration.githubToken, logger: logger)
        let notifier = RunNotifier(
            client: http, webhookURL: configuration.notifyWebhookURL, smtpURL: configuration.smtpURL,
            emailTo: configuration.notifyEmailTo, emailFrom: configuration.notifyEmailFrom, logger: logger)
        let rollbackMonitor = RollbackMonitor(
            database: database, store: store, artifacts: artifacts,
            interval: configuration.rollbackCheckInterval, notifier: notifier, logger: logger)
        let statusGauges = TrainerStatusGauges(
            store: store, interval: configuration.statusInterval, runTimeout: configuration.runTimeout, logger: logger)
        TrainerMetrics.declare()
        let worker = TrainerWorker(
            database: database, store: store, statusGauges: statusGauges,
            executor: RunExecutor(
                store: store,
                checkouts: Dictionary(
                    uniqueKeysWithValues: configuration.repositories.map {
                        (
                            $0.key,
                            SourceCheckout(
                                repositoryURL: $0.url, token: configuration.githubToken,
                                workDirectory: configuration.workDirectory)
                        )
                    }),
                notifier: notifier,
                artifacts: artifacts, workDirectory: configuration.workDirectory,
                runTimeout: configuration.runTimeout, maxDataBytes: configuration.maxDataBytes,
                commandMemoryLimit: configuration.trainMemoryLimit, sandbox: configuration.sandbox,
                // Previews are reported on repositories GitHub knows by name, each through its own API root.
                previewReporters: Dictionary(
                    uniqueKeysWithValues: configuration.repositories.compactMap { tracked in
                        tracked.repository.map { name in
                            (
                                tracked.key,
                                PreviewReporter(
                                    writer: tracked.apiURL.map {
                                        GitHubWriter(
                                            client: http, apiURL: $0, token: configuration.githubToken, logger: logger)
                                    } ?? writer,
                                    repository: name, dashboardURL: configuration.dashboardURL, store: store,
                                    logger: logger)
                            )
                        }
                    }),
                notifyPreviews: configuration.notifyPreviews,
                dataFetcher: configuration.data.fetcher(
                    http: objectStoreClient,
                    cacheDirectory: configuration.workDirectory.appendingPathComponent("data-cache", isDirectory: true)),
                logger: logger),
            pollInterval: configuration.pollInterval,
            previews: configuration.previews ? .init(forks: configuration.previewForks) : nil,
            logger: logger)
        return ServiceHost.application(
            name: "trainer", server: configuration.server, port: configuration.port,
            router: makeRouter(
                database: database, store: store, adminToken: configuration.adminToken, sandbox: configuration.sandbox),
            services: [database, http, objectStoreClient, worker, rollbackMonitor, statusGauges], logger: logger)
    }

    /// The routes: runs, and the shared health and metrics routes.
    public static func makeRouter(
        database: PostgresClient, store: TrainingStore, adminToken: String?, sandbox: Sandbox = .automatic
    )
        -> Router<AppRequestContext>
    {
        ServiceRouter.build(
            title: "Conveyor trainer", readiness: { await ServiceHost.checkDatabase(database) },
            maxBodyBytes: RunController.maxBody,
            controllers: [RunController(database: database, store: store, admin: AdminToken(adminToken))],
            details: { ["sandbox": "\(sandbox)"] })
    }
}
