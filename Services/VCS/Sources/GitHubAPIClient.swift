import Foundation
import HTTPClient
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
    /// Longest single rate-limit wait before the sync fails instead, in seconds.
    let maxRateLimitWait: Double
    /// Attempts per request for transient failures.
    let attempts: Int
    /// First backoff delay in seconds (doubled each attempt, ±50% jitter).
    let backoff: Double

    public init(
        client: CurlHTTPClient, token: String?, logger: Logger, maxRateLimitWait: Double = 900, attempts: Int = 6,
        backoff: Double = 0.25
    ) {
        self.client = client
        self.token = token
        self.logger = logger
        self.maxRateLimitWait = maxRateLimitWait
        self.attempts = attempts
        self.backoff = backoff
    }

    /// A successful answer: 200 with a JSON body, or 304 Not Modified.
    public struct Answer: Sendable {
        public let notModified: Bool
        public let json: JSONValue
        public let response: HTTPClientResponse
    }

    /// Why a request finally failed.
    public struct Failure: Error, CustomStringConvertible {
        public let url: String
        public let problem: String
        public var description: String { "GET \(url): \(problem)" }
    }

    /// GETs `url` as JSON, with `etag` as `If-None-Match` when given.
    public func get(_ url: String, etag: String? = nil) async throws -> Answer {
        var headers: [(name: String, value: String)] = [
            ("Accept", "application/vnd.github+json"), ("X-GitHub-Api-Version", "2022-11-28"),
            ("User-Agent", "conveyor-vcs"),
        ]
        if let token { headers.append(("Authorization", "Bearer \(token)")) }
        if let etag { headers.append(("If-None-Match", etag)) }
        let shown = CurlTransfer.redacted(url)
        var attempt = 0
        while true {
            attempt += 1
            let problem: String
            do {
                let response = try await client.send(HTTPClientRequest(url: url, headers: headers, timeout: 30))
                if let wait = rateLimitWait(response) {
                    guard wait <= maxRateLimitWait else {
                        throw Failure(
                            url: shown,
                            problem:
                                "rate limited for \(Int(wait)) s, longer than the \(Int(maxRateLimitWait)) s allowed")
                    }
                    logger.warning(
                        "GitHub rate limit reached; waiting before retrying",
                        metadata: [
                            "url": "\(shown)", "status": "\(response.status)",
                            "wait_s": "\(String(format: "%.1f", wait))",
                        ])
                    try await Task.sleep(for: .seconds(wait))
                    attempt -= 1  // waiting out a limit is not a failed attempt
                    continue
                }
                if response.status == 304 { return Answer(notModified: true, json: .null, response: response) }
                if (200..<300).contains(response.status) {
                    if let json = try? JSONValue.parse(response.body) {
                        return Answer(notModified: false, json: json, response: response)
                    }
                    let type = response.header("Content-Type") ?? "no content type"
                    problem = "the body is not JSON (\(response.body.count) bytes, \(type))"
                } else if response.status >= 500 {
                    problem = "HTTP \(response.status)"
                } else {
                    let message =
                        (try? JSONValue.parse(response.body))?["message"]?.stringValue
                        ?? response.text.prefix(200).description
                    throw Failure(url: shown, problem: "HTTP \(response.status): \(message)")
                }
            } catch let error as HTTPClientError where error.isTransient {
                problem = "\(error)"
            }
            guard attempt < attempts else {
                throw Failure(url: shown, problem: "\(problem), after \(attempts) attempts")
            }
            let delay = backoff * Double(1 << (attempt - 1)) * Double.random(in: 0.5...1.5)
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
    func rateLimitWait(_ response: HTTPClientResponse) -> Double? {
        guard response.status == 403 || response.status == 429 else { return nil }
        if let retryAfter = response.header("Retry-After").flatMap(Double.init) { return max(0, retryAfter) }
        if response.header("X-RateLimit-Remaining") == "0",
            let reset = response.header("X-RateLimit-Reset").flatMap(Double.init)
        {
            return max(0, reset - Date().timeIntervalSince1970) + 0.5
        }
        if response.status == 429 { return 60 }
        let message = (try? JSONValue.parse(response.body))?["message"]?.stringValue ?? ""
        return message.localizedCaseInsensitiveContains("secondary rate limit") ? 60 : nil
    }
}
