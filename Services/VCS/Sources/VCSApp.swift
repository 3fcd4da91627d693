import Foundation
import HTTPClient
import Hummingbird
import Logging
import Postgres
import ServiceKit

/// Wires the `vcs` service: database, GitHub tap, routes.
public enum VCSApp {
    /// Runs until SIGTERM/SIGINT.
    public static func run(configuration: VCSConfiguration, logger: Logger) async throws {
        let database = try await DatabaseStartup.connect(url: configuration.databaseURL, logger: logger)
        let http = CurlHTTPClient(concurrency: 2)
        let sync = PullRequestSync(
            tap: GitHubPullRequestTap(
                client: http, apiURL: configuration.apiURL, repository: configuration.repository,
                token: configuration.token, logger: logger),
            store: PullRequestStore(database: database, repository: configuration.repository),
            logger: logger)
        let router = makeRouter(
            database: database, sync: sync, webhookSecret: configuration.webhookSecret, logger: logger)
        do {
            try await ServiceHost.run(
                name: "vcs", port: configuration.port, router: router, services: [], logger: logger)
        } catch {
            await shutdown(database, http)
            throw error
        }
        await shutdown(database, http)
    }

    private static func shutdown(_ database: PostgresClient, _ http: CurlHTTPClient) async {
        await http.shutdown()
        await database.shutdown()
    }

    /// The routes: `GET /checkout`, `POST /webhook`, and the shared health and metrics routes.
    public static func makeRouter(
        database: PostgresClient, sync: PullRequestSync, webhookSecret: String?, logger: Logger
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
            } catch let error as HTTPClientError {
                throw APIError(.badGateway, "GitHub sync failed: \(error)")
            } catch let error as PostgresError {
                throw APIError(.serviceUnavailable, "storing pull requests failed: \(error)")
            }
        }
        let webhook = WebhookRoute(
            database: database, signature: webhookSecret.map(WebhookSignature.init), logger: logger)
        router.post("/webhook") { request, _ in try await webhook.handle(request) }
        return router
    }
}
