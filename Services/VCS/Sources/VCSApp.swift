import Foundation
import HTTPClient
import Hummingbird
import Logging
import Postgres
import ServiceKit
import ServiceLifecycle

/// Wires the `vcs` service: database, GitHub tap, routes.
public enum VCSApp {
    /// Runs until SIGTERM/SIGINT.
    public static func run(configuration: VCSConfiguration, logger: Logger) async throws {
        let database = try await DatabaseStartup.connect(url: configuration.databaseURL, logger: logger)
        let http = CurlHTTPClient(concurrency: 2)
        let loader = SingerPostgresLoader()
        let sync = PullRequestSync(
            tap: makeTap(configuration: configuration, http: http, logger: logger), database: database,
            loader: loader, logger: logger)
        let router = makeRouter(
            database: database, sync: sync, loader: loader, webhookSecret: configuration.webhookSecret,
            logger: logger)
        var services: [any Service] = []
        if let interval = configuration.syncInterval {
            services.append(PeriodicSync(sync: sync, interval: interval, logger: logger))
        }
        do {
            try await ServiceHost.run(
                name: "vcs", port: configuration.port, router: router, services: services, logger: logger)
        } catch {
            await shutdown(database, http)
            throw error
        }
        await shutdown(database, http)
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

    private static func shutdown(_ database: PostgresClient, _ http: CurlHTTPClient) async {
        await http.shutdown()
        await database.shutdown()
    }

    /// The routes: `GET /checkout`, `POST /webhook`, and the shared health and metrics routes.
    public static func makeRouter(
        database: PostgresClient, sync: PullRequestSync, loader: SingerPostgresLoader, webhookSecret: String?,
        logger: Logger
    ) -> Router<BasicRequestContext> {
        let router = ServiceHost.makeRouter(
            title: "Conveyor vcs", readiness: { await ServiceHost.checkDatabase(database) },
            routes: {
                [
                    APIRoute("GET", "/checkout", "Sync pull requests from GitHub now; returns what the sync did."),
                    APIRoute(
                        "POST", "/webhook", "GitHub webhook (X-Hub-Signature-256 checked, deliveries applied once)."),
                ]
            })
        router.get("/checkout") { _, _ -> Response in
            do {
                return try JSONResponse.make(try await sync.sync())
            } catch let error as GitHubAPIClient.Failure {
                throw APIError(.badGateway, "GitHub sync failed: \(error)")
            } catch let error as HTTPClientError {
                throw APIError(.badGateway, "GitHub sync failed: \(error)")
            } catch let error as PostgresError {
                throw APIError(.serviceUnavailable, "storing pull requests failed: \(error)")
            }
        }
        let webhook = WebhookRoute(
            database: database, signature: webhookSecret.map(WebhookSignature.init), loader: loader, logger: logger)
        router.post("/webhook") { request, _ in try await webhook.handle(request) }
        return router
    }
}
