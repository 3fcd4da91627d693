import Foundation
import GitHub
import HTTPClient
import HTTPTypes
import JSON
import Logging
import ServiceKit

/// GET requests to the GitHub REST API over libcurl, the way GitHub asks
/// clients to behave: conditional requests (`If-None-Match`; a 304 costs no
/// rate limit), waiting out rate limits (`X-RateLimit-Remaining`/`-Reset`,
/// `Retry-After`, secondary 403/429) with a log line instead of hammering,
/// and retries with jittered exponential backoff on 5xx, timeouts, resets and
/// bodies that are not the JSON promised. The token is sent, never logged.
public struct GitHubAPIClient: Sendable {
    let client: CurlHTTPClient
    let token: String?
    let logger: Logger
    /// Longest single rate-limit wait before the sync fails instead.
    let maxRateLimitWait: Duration
    /// Attempts per request for transient failures.
    let attempts: Int
    /// First backoff delay (doubled each attempt, ±50% jitter).
    let backoff: Duration
    /// The shortest rate-limit wait.
    let minimumRateLimitWait: Duration

    public init(
        client: CurlHTTPClient, token: String?, logger: Logger, maxRateLimitWait: Duration = .seconds(900),
        attempts: Int = 6, backoff: Duration = .milliseconds(250), minimumRateLimitWait: Duration = .seconds(1)
    ) {
        self.minimumRateLimitWait = minimumRateLimitWait
        self.client = client
        self.token = token
        self.logger = logger
        self.maxRateLimitWait = maxRateLimitWait
        self.attempts = attempts
        self.backoff = backoff
    }

    /// Rate-limit waits per request before the sync fails.
    static let maxRateLimitWaits = 5

    /// `X-GitHub-Api-Version`: the REST API version this client speaks.
    static let apiVersion = HTTPField.Name("X-GitHub-Api-Version")!

    /// A successful answer: 200 with a JSON body, or 304 Not Modified.
    public struct Answer: Sendable {
        public let notModified: Bool
        public let json: JSONValue
        public let response: CurlResponse
    }

    /// Why a request finally failed.
    public struct Failure: Error, CustomStringConvertible {
        public let url: String
        public let problem: String
        public var description: String { "GET \(url): \(problem)" }
    }

    /// GETs `url` as JSON, with `etag` as `If-None-Match` when given.
    public func get(_ url: String, etag: String? = nil) async throws -> Answer {
        var headers: HTTPFields = [
            .accept: "application/vnd.github+json", Self.apiVersion: "2022-11-28", .userAgent: "conveyor-vcs",
        ]
        if let token { headers[.authorization] = "Bearer \(token)" }
        if let etag { headers[.ifNoneMatch] = etag }
        let shown = CurlTransfer.redacted(url)
        var attempt = 0
        var waits = 0
        while true {
            attempt += 1
            let problem: String
            let cause: String
            do {
                let response = try await client.send(CurlRequest(url: url, headers: headers, timeout: .seconds(30)))
                if let remaining = response.header(.xRateLimitRemaining).flatMap(Double.init) {
                    VCSMetrics.rateLimit(
                        remaining: remaining, limit: response.header(.xRateLimitLimit).flatMap(Double.init))
                }
                if let reported = rateLimitWait(response) {
                    // A reset in the past or `Retry-After: 0` must not turn into hammering.
                    let wait = max(minimumRateLimitWait.inSeconds, reported)
                    waits += 1
                    guard waits <= Self.maxRateLimitWaits else {
                        throw Failure(
                            url: shown,
                            problem:
                                "still rate limited after \(Self.maxRateLimitWaits) waits (HTTP \(response.status.code))"
                        )
                    }
                    guard .seconds(wait) <= maxRateLimitWait else {
                        throw Failure(
                            url: shown,
                            problem:
                                "rate limited for \(Int(wait)) s, longer than the \(Int(maxRateLimitWait.inSeconds)) s allowed"
                        )
                    }
                    logger.warning(
                        "GitHub rate limit reached; waiting before retrying",
                        metadata: [
                            "url": "\(shown)", "status": "\(response.status.code)",
                            "wait_s": "\(String(format: "%.1f", wait))",
                        ])
                    VCSMetrics.rateLimitWait(seconds: wait)
                    try await Task.sleep(for: .seconds(wait))
                    attempt -= 1  // waiting out a limit is not a failed attempt; `waits` bounds those
                    continue
                }
                if response.status == .notModified { return Answer(notModified: true, json: .null, response: response) }
                if response.status.kind == .successful {
                    if let json = try? JSONValue.parse(response.body) {
                        return Answer(notModified: false, json: json, response: response)
                    }
                    let type = response.header(.contentType) ?? "no content type"
                    problem = "the body is not JSON (\(response.body.count) bytes, \(type))"
                    cause = "not_json"
                } else if response.status.kind == .serverError {
                    problem = "HTTP \(response.status.code)"
                    cause = "server_error"
                } else {
                    let message =
                        (try? JSONValue.parse(response.body))?["message"]?.stringValue
                        ?? response.text.prefix(200).description
                    throw Failure(url: shown, problem: "HTTP \(response.status.code): \(message)")
                }
            } catch let error as CurlError where error.isTransient {
                problem = "\(error)"
                cause = "network"
            }
            guard attempt < attempts else {
                throw Failure(url: shown, problem: "\(problem), after \(attempts) attempts")
            }
            VCSMetrics.retry(cause: cause)
            let delay = backoff.inSeconds * Double(1 << (attempt - 1)) * Double.random(in: 0.5...1.5)
            logger.warning(
                "GitHub request failed; retrying",
                metadata: [
                    "url": "\(shown)", "problem": "\(problem)", "attempt": "\(attempt)",
                    "retry_in_s": "\(String(format: "%.2f", delay))",
                ])
            try await Task.sleep(for: .seconds(delay))
        }
    }

    /// Seconds to wait when the response says a rate limit applies (primary
    /// exhausted, secondary, or `Retry-After`), nil otherwise.
    func rateLimitWait(_ response: CurlResponse) -> Double? {
        guard response.status == .forbidden || response.status == .tooManyRequests else { return nil }
        if let retryAfter = response.header(.retryAfter).flatMap(Double.init) { return max(0, retryAfter) }
        if response.header(.xRateLimitRemaining) == "0",
            let reset = response.header(.xRateLimitReset).flatMap(Double.init)
        {
            return max(0, reset - Date().timeIntervalSince1970) + 0.5
        }
        if response.status == .tooManyRequests { return 60 }
        let message = (try? JSONValue.parse(response.body))?["message"]?.stringValue ?? ""
        return message.localizedCaseInsensitiveContains("secondary rate limit") ? 60 : nil
    }
}
