import Foundation
import GitHub
import HTTPClient
import HTTPTypes
import JSON
import Logging

/// GitHub's write API through libcurl, as preview reports use it (commit
/// statuses, issue comments): JSON bodies with the token as a bearer, 5xx
/// answers and network failures retried with doubling backoff, and rate
/// limits honoured as `vcs`'s tap does (`Retry-After`, an exhausted
/// `X-RateLimit-Remaining` until `X-RateLimit-Reset`), waiting at most
/// `maxRateLimitWait`. The token is never logged.
struct GitHubWriter: Sendable {
    let client: CurlHTTPClient
    /// `GITHUB_API_URL`, without a trailing slash.
    let apiURL: String
    let token: String?
    var attempts = 4
    var backoff = Duration.milliseconds(250)
    var maxRateLimitWait = Duration.seconds(60)
    let logger: Logger

    /// What a write came to.
    struct Outcome: Sendable {
        let response: CurlResponse?
        let attempts: Int
        let error: String?
        var succeeded: Bool { response?.status.kind == .successful }
    }

    /// Sends `body` to `path` (e.g. `/repos/o/r/statuses/sha`) and returns the last answer.
    func send(_ method: HTTPRequest.Method, _ path: String, body: JSONValue) async -> Outcome {
        var headers: HTTPFields = [
            .contentType: "application/json", .accept: "application/vnd.github+json",
            .userAgent: "conveyor-trainer",
        ]
        if let token { headers[.authorization] = "Bearer \(token)" }
        let request = CurlRequest(
            method: method, url: apiURL + path, headers: headers,
            body: Array((try? JSONEncoder().encode(body)) ?? Data()), timeout: .seconds(15))
        var delay = backoff
        var lastError: String?
        for attempt in 1...attempts {
            do {
                let response = try await client.send(request)
                if let wait = rateLimitWait(response), attempt < attempts {
                    guard wait <= maxRateLimitWait else {
                        return Outcome(response: response, attempts: attempt, error: "rate limited for \(wait)")
                    }
                    logger.warning(
                        "GitHub rate limit on a preview report; waiting",
                        metadata: ["path": "\(path)", "wait": "\(wait)"])
                    try? await Task.sleep(for: wait)
                    continue
                }
                guard response.status.kind == .serverError, attempt < attempts else {
                    let error = response.status.kind == .successful ? nil : "HTTP \(response.status.code)"
                    return Outcome(response: response, attempts: attempt, error: error)
                }
                lastError = "HTTP \(response.status.code)"
            } catch {
                lastError = "\(error)"
                if attempt == attempts { break }
            }
            logger.notice(
                "GitHub write failed; retrying",
                metadata: ["path": "\(path)", "error": "\(lastError ?? "")", "attempt": "\(attempt)"])
            try? await Task.sleep(for: delay)
            delay *= 2
        }
        return Outcome(response: nil, attempts: attempts, error: lastError)
    }

    /// How long a rate-limited answer asks to wait, or nil when it is not one.
    func rateLimitWait(_ response: CurlResponse) -> Duration? {
        guard response.status == .forbidden || response.status == .tooManyRequests else { return nil }
        if let retryAfter = response.header(.retryAfter).flatMap(Double.init) { return .seconds(max(0, retryAfter)) }
        if response.header(.xRateLimitRemaining) == "0",
            let reset = response.header(.xRateLimitReset).flatMap(Double.init)
        {
            return .seconds(max(0, reset - Date().timeIntervalSince1970) + 0.5)
        }
        return response.status == .tooManyRequests ? .seconds(60) : nil
    }
}
