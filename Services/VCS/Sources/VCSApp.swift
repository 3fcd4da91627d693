import Foundation
import HTTPClient
import Hummingbird
import Logging
import Postgres
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
        let sync = PullRequestSync(
            tap: makeTap(configuration: configuration, http: http, logger: logger), database: database,
            loader: loader, logger: logger)
        let router = makeRouter(
            database: database, sync: sync, loader: loader, webhookSecret: configuration.webhookSecret,
            logger: logger)
        VCSMetrics.declare()
        var services: [any Service] = [database, http]
        if let interval = configuration.syncInterval {
            services.append(PeriodicSync(sync: sync, interval: interval, logger: logger))
        }
        return ServiceHost.application(
            name: "vcs", server: configuration.server, port: configuration.port, router: router, services: services,
            logger: logger)
    }

    /// The GitHub tap for the configured repository.
    public static func makeTap(configuration: VCSConfiguration, http: CurlHTTPClient, logger: Logger)
        -> GitHubPullRequestTap
    {
        GitHubPullRequestTap(
            api: GitHubAPIClient(
                client: http, token: configuration.token, logger: logger,
                maxRateLimitWait: configuration.maxRateLimitWait, attempts: configuration.retryAttempts,
                backoff: configuration.retryBackoff),
            apiURL: configuration.apiURL, repository: configuration.repository, logger: logger)
    }

    /// The routes: `GET /checkout`, `POST /webhook`, and the shared health and metrics routes.
    public static func makeRouter(
        database: PostgresClient, sync: PullRequestSync, loader: SingerPostgresLoader, webhookSecret: String?,
        logger: Logger
    ) -> Router<AppRequestContext> {
        ServiceRouter.build(
            title: "Conveyor vcs", readiness: { await ServiceHost.checkDatabase(database) },
            maxBodyBytes: WebhookController.maxBody,
            controllers: [
                CheckoutController(sync: sync),
                WebhookController(
                    database: database, signature: webhookSecret.map(WebhookSignature.init), loader: loader),
            ])
    }
}
