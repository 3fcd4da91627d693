import Foundation
import HTTPTypes
import Hummingbird
import Testing

/// The dashboard's pages say what a browser may load and that they may not
/// be framed; JSON answers are left as they are.
@Suite("dashboard pages: Content-Security-Policy and X-Frame-Options", .tags(.routes))
struct PageSecurityTests {
    @Test("every HTML page forbids inline script, other origins and framing")
    func pageHeaders() async throws {
        try await ServingRouteTests.withServing { client, _ in
            let html: HTTPFields = [.accept: "text/html,*/*"]
            for path in ["/", "/runs", "/predict", "/docs"] {
                let page = try await client.send(.get, path, headers: html)
                #expect(page.status == 200, "\(path): \(page.status)")
                #expect(page.headers[.contentType]?.hasPrefix("text/html") == true, "\(path)")
                let policy = page.headers[.contentSecurityPolicy] ?? ""
                for directive in [
                    "default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "base-uri 'none'",
                ] {
                    #expect(policy.contains(directive), "\(path): \(directive) missing from \"\(policy)\"")
                }
                #expect(!policy.contains("'unsafe-eval'") && !policy.contains("script-src 'self' 'unsafe-inline'"))
                #expect(page.headers[HTTPField.Name("X-Frame-Options")!] == "DENY", "\(path)")
            }
            let json = try await client.send(.get, "/", headers: [.accept: "application/json"])
            #expect(json.headers[.contentType]?.hasPrefix("application/json") == true)
        }
    }
}
