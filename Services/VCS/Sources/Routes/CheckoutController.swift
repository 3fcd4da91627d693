import Foundation
import HTTPClient
import Hummingbird
import JSON
import Postgres
import ServiceKit

/// `GET /checkout`: sync pull requests from GitHub now (what a webhook does). With one
/// repository followed it answers that sync's summary; with several, each repository's
/// summary or error (`{"repositories": [...]}`), 502 only when every one failed.
struct CheckoutController: APIController {
    let syncs: RepositorySyncs

    var endpoints: DocumentedRoutes {
        let syncs = syncs
        return DocumentedRoutes().on(
            APIRoute(.get, "/checkout", "Sync pull requests from GitHub now; returns what the sync did.")
        ) { _, _ in
            let outcomes = await syncs.syncAll()
            if outcomes.count == 1 {
                return try JSONResponse.make(try outcomes[0].result.mapError(Self.apiError).get())
            }
            let entries = try outcomes.map { outcome -> JSONValue in
                switch outcome.result {
                case .success(let summary):
                    let encoded = try JSONValue.parse(Array(try JSONEncoder().encode(summary)))
                    return .object(["repository": .string(outcome.repository), "summary": encoded])
                case .failure(let error):
                    return .object([
                        "repository": .string(outcome.repository), "error": .string(Self.apiError(error).message),
                    ])
                }
            }
            let allFailed = outcomes.allSatisfy { (try? $0.result.get()) == nil }
            return try JSONResponse.make(
                JSONValue.object(["repositories": .array(entries)]), status: allFailed ? .badGateway : .ok)
        }
    }

    /// A failed sync as the route answers it: GitHub's failures are a 502, the database's a 503.
    static func apiError(_ error: any Error) -> APIError {
        switch error {
        case let error as GitHubAPIClient.Failure: APIError(.badGateway, "GitHub sync failed: \(error)")
        case let error as CurlError: APIError(.badGateway, "GitHub sync failed: \(error)")
        case let error as PostgresError: APIError(.serviceUnavailable, "storing pull requests failed: \(error)")
        case let error as APIError: error
        default: APIError(.internalServerError, "the sync failed: \(error)")
        }
    }
}
