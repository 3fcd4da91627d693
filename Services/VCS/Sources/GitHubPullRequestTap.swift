import Foundation
import HTTPClient
import Logging
import ServiceKit

/// Reads pull requests from the GitHub REST API over libcurl, newest update
/// first, following `Link: rel="next"` until it reaches the bookmark.
public struct GitHubPullRequestTap: Sendable {
    let client: CurlHTTPClient
    let apiURL: String
    let repository: String
    let token: String?
    let logger: Logger
    let pageSize: Int

    public init(
        client: CurlHTTPClient, apiURL: String, repository: String, token: String?, logger: Logger,
        pageSize: Int = 100
    ) {
        self.client = client
        self.apiURL = apiURL
        self.repository = repository
        self.token = token
        self.logger = logger
        self.pageSize = pageSize
    }

    /// One page of pull requests as returned by the API.
    public struct Page: Sendable {
        public let items: [JSONValue]
    }

    /// Calls `handle` with each page of pull requests updated at or after
    /// `since` (all of them when nil), newest first. Returns the page count.
    public func fetch(
        since: Date?, isolation: isolated (any Actor)? = #isolation, handle: (Page) async throws -> Void
    ) async throws -> Int {
        var next: String? =
            "\(apiURL)/repos/\(repository)/pulls?state=all&sort=updated&direction=desc&per_page=\(pageSize)"
        var pages = 0
        while let url = next {
            let response = try await get(url)
            guard case .array(let items) = try decode(response, url: url) else {
                throw HTTPClientError.decode(
                    "GET \(CurlTransfer.redacted(url)): expected a JSON array of pull requests")
            }
            pages += 1
            let fresh = items.filter { item in
                guard let since, let text = item["updated_at"]?.stringValue,
                    let updated = PullRequestRecord.parseDate(text)
                else { return true }
                return updated >= since
            }
            try await handle(Page(items: fresh))
            // Sorted by update time: once a page reaches past the bookmark, stop.
            next = fresh.count < items.count ? nil : LinkHeader.url(in: response.header("Link"), relation: "next")
        }
        return pages
    }

    private func get(_ url: String) async throws -> HTTPClientResponse {
        var headers: [(name: String, value: String)] = [
            ("Accept", "application/vnd.github+json"),
            ("X-GitHub-Api-Version", "2022-11-28"),
            ("User-Agent", "conveyor-vcs"),
        ]
        if let token { headers.append(("Authorization", "Bearer \(token)")) }
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await client.send(HTTPClientRequest(url: url, headers: headers, timeout: 30)).expectSuccess()
            } catch let error as HTTPClientError where error.isTransient && attempt < 4 {
                let delay = Double(1 << attempt) * 0.25 * Double.random(in: 0.5...1.5)
                logger.warning(
                    "GitHub request failed; retrying",
                    metadata: ["error": "\(error)", "attempt": "\(attempt)", "retry_in_s": "\(delay)"])
                try await Task.sleep(for: .seconds(delay))
            }
        }
    }

    private func decode(_ response: HTTPClientResponse, url: String) throws -> JSONValue {
        do {
            return try JSONValue.parse(response.body)
        } catch {
            throw HTTPClientError.decode(
                "GET \(CurlTransfer.redacted(url)): body is not JSON (\(response.body.count) bytes)")
        }
    }
}
