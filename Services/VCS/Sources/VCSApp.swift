import Foundation
import HTTPClient
import Hummingbird
import Logging
import Postgres
import Registry
import ServiceKit
import ServiceLifecycle

/// Builds the `vcs` application: database, GitHub tap, routes.
public enum VCSApp {
    /// The application, ready to run: connects to Postgres (migrating it);
    /// `run()` serves until SIGTERM/SIGINT.
    public static func buildApplication(configuration: VCSConfiguration, logger: Logger) async throws
        -> some ApplicationProtocol
    {
        let database = try await DatabaseStartup.connect(url: configuration.databaseURL, logger: logger)
        let http = CurlHTTPClient(concurrency: 2)
        let loader = SingerPostgresLoader()
        // The pull_requests tables and their target-postgres comments exist before
        // anything loads, so datamill's loader can continue in them from the start.
        try await loader.prepare(PullRequestsStream.layout, database: database)
        // Each repository its own sync: its bookmark, ETag and rate-limit waits are its own.
        let syncs = RepositorySyncs(
            configuration.repositories.map { repository in
                PullRequestSync(
                    tap: makeTap(configuration: configuration, repository: repository, http: http, logger: logger),
                    database: database, loader: loader, logger: logger)
            })
        let router = makeRouter(
            database: database, syncs: syncs, loader: loader, webhookSecret: configuration.webhookSecret,
            logger: logger)
        VCSMetrics.declare()
        var services: [any Service] = [database, http]
        if let interval = configuration.syncInterval {
            services.append(PeriodicSync(syncs: syncs, interval: interval, logger: logger))
        }
        return ServiceHost.application(
            name: "vcs", server: configuration.server, port: configuration.port, router: router, services: services,
            logger: logger)
    }

    /// The GitHub tap for `repository` (the first configured one when nil), through its own API
    /// root when the models file gives one.
    public static func makeTap(
        configuration: VCSConfiguration, repository: TrackedRepository? = nil, http: CurlHTTPClient, logger: Logger
    ) -> GitHubPullRequestTap {
        let repository = repository ?? configuration.repositories[0]
        return
            GitHubPullRequestTap(
                api: GitHubAPIClient(
                    client: http, token: configuration.token, logger: logger,
                    maxRateLimitWait: configuration.maxRateLimitWait, attempts: configuration.retryAttempts,
                    backoff: configuration.retryBackoff),
                apiURL: repository.apiURL ?? configuration.apiURL, repository: repository.repository ?? "",
                logger: logger)
    }

    /// The routes: `GET /checkout`, `POST /webhook`, and the shared health and metrics routes.
    public static func makeRouter(
        database: PostgresClient, syncs: RepositorySyncs, loader: SingerPostgresLoader, webhookSecret: String?,
        logger: Logger
    ) -> Router<AppRequestContext> {
        ServiceRouter.build(
            title: "Conveyor vcs", readiness: { await ServiceHost.checkDatabase(database) },
            maxBodyBytes: WebhookController.maxBody,
            controllers: [
                CheckoutController(syncs: syncs),
                WebhookController(
                    database: database, signature: webhookSecret.map(WebhookSignature.init), loader: loader,
                    repositories: syncs.names),
            ])
    }
}
