import Foundation
import GitHub
import HTTPClient
import JSON
import Logging
import Postgres

/// A Singer tap for GitHub pull requests: lists `state=all` newest update
/// first, follows `Link: rel="next"` until it reaches the `updated_at`
/// bookmark, and emits SCHEMA, RECORD (with `time_extracted`) and a final
/// STATE `{"bookmarks": {repo: {"pull_requests": {"since", "etag"}}}}`. The
/// first page is asked with the last sync's ETag: a 304 means nothing changed.
public struct GitHubPullRequestTap: Sendable {
    let api: GitHubAPIClient
    let apiURL: String
    let repository: String
    let logger: Logger
    let pageSize: Int

    public init(api: GitHubAPIClient, apiURL: String, repository: String, logger: Logger, pageSize: Int = 100) {
        self.api = api
        self.apiURL = apiURL
        self.repository = repository
        self.logger = logger
        self.pageSize = pageSize
    }

    /// What one run of the tap read.
    public struct Summary: Sendable {
        public var pages = 0
        public var notModified = 0
        public var records = 0
        public var merged = 0
        public var bookmark: String?
    }

    /// The bookmark and ETag a STATE value holds for this repository: in
    /// Conveyor's shape `{"bookmarks": {repo: {"pull_requests": {...}}}}`, or
    /// in tap-github's `{"bookmarks": {"pull_requests": {repo: {"since"}}}}`.
    public func bookmark(in state: JSONValue?) -> (since: String?, etag: String?) {
        let entry =
            state?["bookmarks"]?[repository]?["pull_requests"]
            ?? state?["bookmarks"]?[PullRequestsStream.name]?[repository]
        return (entry?["since"]?.stringValue, entry?["etag"]?.stringValue)
    }

    /// Whether `state` holds a bookmark for this repository in either shape.
    public func hasBookmark(in state: JSONValue?) -> Bool { bookmark(in: state).since != nil }

    /// Runs the tap from `state` (the last STATE value, if any), handing each message to `emit`.
    public func run(
        state: JSONValue?, isolation: isolated (any Actor)? = #isolation, emit: (SingerMessage) async throws -> Void
    ) async throws -> Summary {
        let (since, etag) = bookmark(in: state)
        let sinceDate = since.flatMap(Date.init(postgresText:))
        var summary = Summary()
        var newest = sinceDate
        var newestText = since
        var firstPageETag = etag
        try await emit(PullRequestsStream.schemaMessage)
        var next: String? =
            "\(apiURL)/repos/\(repository)/pulls?state=all&sort=updated&direction=desc&per_page=\(pageSize)"
        var first = true
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        while let url = next {
            // When the page was asked for: its content is GitHub's state at that moment or
            // later, so a change seen earlier (a webhook) never loses to it.
            let extracted = formatter.string(from: Date())
            let answer = try await api.get(url, etag: first ? etag : nil)
            if answer.notModified {
                summary.notModified += 1
                break
            }
            guard case .array(let items) = answer.json else {
                throw GitHubAPIClient.Failure(
                    url: CurlTransfer.redacted(url),
                    problem: "expected a JSON array of pull requests, got \(answer.json.kindName)")
            }
            if first { firstPageETag = answer.response.header(.eTag) }
            first = false
            summary.pages += 1
            var reachedBookmark = false
            for item in items {
                let updatedText = item["updated_at"]?.stringValue
                let updated = updatedText.flatMap(Date.init(postgresText:))
                if let sinceDate, let updated, updated < sinceDate {
                    reachedBookmark = true
                    continue
                }
                if let updated, updated > (newest ?? .distantPast) {
                    newest = updated
                    newestText = updatedText
                }
                summary.records += 1
                if item["merged_at"]?.stringValue != nil { summary.merged += 1 }
                try await emit(
                    .record(
                        stream: PullRequestsStream.name, record: PullRequestsStream.transform(item),
                        timeExtracted: extracted, version: nil))
            }
            next = reachedBookmark ? nil : LinkHeader.url(in: answer.response.header(.link), relation: "next")
            if next != nil { try await pauseIfExhausted(answer.response) }
        }
        var entry: [String: JSONValue] = [:]
        if let newestText { entry["since"] = .string(newestText) }
        if let firstPageETag { entry["etag"] = .string(firstPageETag) }
        var bookmarks = state?["bookmarks"]?.objectValue ?? [:]
        bookmarks[repository] = .object([PullRequestsStream.name: .object(entry)])
        var value = state?.objectValue ?? [:]
        value["bookmarks"] = .object(bookmarks)
        try await emit(.state(.object(value)))
        summary.bookmark = newestText
        return summary
    }

    /// GitHub said this was the last request of the window: wait for the reset before the next page.
    private func pauseIfExhausted(_ response: CurlResponse) async throws {
        guard response.header(.xRateLimitRemaining) == "0",
            let reset = response.header(.xRateLimitReset).flatMap(Double.init)
        else { return }
        let wait = max(0, reset - Date().timeIntervalSince1970) + 0.5
        guard .seconds(wait) <= api.maxRateLimitWait else {
            throw GitHubAPIClient.Failure(
                url: apiURL,
                problem:
                    "rate limit exhausted for \(Int(wait)) s, longer than the \(Int(api.maxRateLimitWait.inSeconds)) s allowed"
            )
        }
        logger.warning(
            "GitHub rate limit exhausted; waiting for the reset before the next page",
            metadata: ["wait_s": "\(String(format: "%.1f", wait))"])
        try await Task.sleep(for: .seconds(wait))
    }
}
