import Foundation
import GitHub
import HTTPClient
import HTTPTypes
import Logging
import Testing

@testable import VCSService

@Suite("GitHub rate-limit waits")
struct RateLimitTests {
    static let client = GitHubAPIClient(client: CurlHTTPClient(), token: nil, logger: Logger(label: "test"))

    static func response(_ status: HTTPResponse.Status, _ headers: HTTPFields, body: String = "{}") -> CurlResponse {
        CurlResponse(status: status, headers: headers, body: Array(body.utf8))
    }

    @Test("Retry-After is waited out on a 403 or 429")
    func retryAfter() {
        #expect(Self.client.rateLimitWait(Self.response(.tooManyRequests, [.retryAfter: "7"])) == 7)
        #expect(Self.client.rateLimitWait(Self.response(.forbidden, [.retryAfter: "3"])) == 3)
    }

    @Test("an exhausted primary limit waits until its reset")
    func primaryReset() throws {
        let reset = Int(Date().timeIntervalSince1970) + 30
        let wait = try #require(
            Self.client.rateLimitWait(
                Self.response(.forbidden, [.xRateLimitRemaining: "0", .xRateLimitReset: "\(reset)"])))
        #expect(wait > 28 && wait <= 31)
    }

    @Test("a secondary rate limit message waits a minute; other 403s are not rate limits")
    func secondary() {
        let secondary = Self.response(
            .forbidden, [:], body: #"{"message": "You have exceeded a secondary rate limit."}"#)
        #expect(Self.client.rateLimitWait(secondary) == 60)
        #expect(Self.client.rateLimitWait(Self.response(.forbidden, [:], body: #"{"message": "nope"}"#)) == nil)
        #expect(Self.client.rateLimitWait(Self.response(.ok, [.retryAfter: "5"])) == nil)
    }
}
