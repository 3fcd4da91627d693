import HTTPClient
import Hummingbird
import Postgres
import ServiceKit

/// `GET /checkout`: sync pull requests from GitHub now (what a webhook does).
struct CheckoutController: APIController {
    let sync: PullRequestSync

    var endpoints: DocumentedRoutes {
        let sync = sync
        return DocumentedRoutes().on(
            APIRoute(.get, "/checkout", "Sync pull requests from GitHub now; returns what the sync did.")
        ) { _, _ in
            do {
                return try JSONResponse.make(try await sync.sync())
            } catch let error as GitHubAPIClient.Failure {
                throw APIError(.badGateway, "GitHub sync failed: \(error)")
            } catch let error as CurlError {
                throw APIError(.badGateway, "GitHub sync failed: \(error)")
            } catch let error as PostgresError {
                throw APIError(.serviceUnavailable, "storing pull requests failed: \(error)")
            }
        }
    }
}
