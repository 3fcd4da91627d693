import Foundation
import GitHub
import HTTPClient
import HTTPTypes
import Hummingbird
import Logging
import Testing

@testable import VCSService

@Suite("HTTP over libcurl")
struct HTTPClientTests {
    static func makeRouter() -> Router<BasicRequestContext> {
        let router = Router()
        router.post("/echo") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            var headers: HTTPFields = [.contentType: "text/plain"]
            headers[HTTPField.Name("X-Echo-Token")!] = request.headers[HTTPField.Name("X-Token")!] ?? "none"
            headers[HTTPField.Name("X-Method")!] = request.method.rawValue
            return Response(status: .created, headers: headers, body: .init(byteBuffer: body))
        }
        router.get("/missing") { _, _ -> Response in
            Response(status: .notFound, body: .init(byteBuffer: ByteBuffer(string: "nope")))
        }
        router.get("/slow") { _, _ -> String in
            try await Task.sleep(for: .seconds(30))
            return "late"
        }
        router.get("/redirect/:n") { _, context -> Response in
            let n = Int(try context.parameters.require("n")) ?? 0
            let target = n > 0 ? "/redirect/\(n - 1)" : "/done"
            return Response(status: .found, headers: [.location: target])
        }
        router.get("/done") { _, _ in "arrived" }
        return router
    }

    @Test("status, headers and body go both ways")
    func roundTrip() async throws {
        let server = try await LoopbackServer.start(Self.makeRouter())
        defer { server.task.cancel() }
        let client = CurlHTTPClient()
        defer { Task { await client.shutdown() } }
        let response = try await client.send(
            CurlRequest(
                method: .post, url: "\(server.baseURL)/echo", headers: [HTTPField.Name("X-Token")!: "abc 123"],
                body: Array("héllo, wörld".utf8)))
        #expect(response.status == 201)
        #expect(response.text == "héllo, wörld")
        #expect(response.header("x-echo-token") == "abc 123")
        #expect(response.header("X-Method") == "POST")
        #expect(response.header("content-type") == "text/plain")
    }

    @Test("a non-2xx status is returned, and expectSuccess turns it into a typed error")
    func statusError() async throws {
        let server = try await LoopbackServer.start(Self.makeRouter())
        defer { server.task.cancel() }
        let client = CurlHTTPClient()
        defer { Task { await client.shutdown() } }
        let response = try await client.send(CurlRequest(url: "\(server.baseURL)/missing"))
        #expect(response.status == 404)
        #expect(throws: CurlError.status(404, body: "nope")) { try response.expectSuccess() }
    }

    @Test("a slow server hits the timeout as a typed error")
    func timeout() async throws {
        let server = try await LoopbackServer.start(Self.makeRouter())
        defer { server.task.cancel() }
        let client = CurlHTTPClient()
        defer { Task { await client.shutdown() } }
        let started = Date()
        do {
            _ = try await client.send(CurlRequest(url: "\(server.baseURL)/slow", timeout: .milliseconds(500)))
            Issue.record("the slow request succeeded")
        } catch let error as CurlError {
            guard case .timeout = error else {
                Issue.record("expected a timeout, got \(error)")
                return
            }
        }
        // Far below the 30 s answer, with room for a loaded machine.
        #expect(Date().timeIntervalSince(started) < 15)
    }

    @Test("nothing listening is a connect error")
    func refused() async throws {
        let client = CurlHTTPClient()
        defer { Task { await client.shutdown() } }
        let port = try FreePort.find()
        await #expect {
            _ = try await client.send(CurlRequest(url: "http://127.0.0.1:\(port)/", timeout: .seconds(2)))
        } throws: { error in
            guard case .connect = error as? CurlError else { return false }
            return true
        }
    }

    @Test("redirects are followed up to the limit and no further")
    func boundedRedirects() async throws {
        let server = try await LoopbackServer.start(Self.makeRouter())
        defer { server.task.cancel() }
        let client = CurlHTTPClient()
        defer { Task { await client.shutdown() } }
        let followed = try await client.send(CurlRequest(url: "\(server.baseURL)/redirect/2", maxRedirects: 5))
        #expect(followed.text == "arrived")
        await #expect {
            _ = try await client.send(CurlRequest(url: "\(server.baseURL)/redirect/8", maxRedirects: 3))
        } throws: { error in
            guard case .tooManyRedirects = error as? CurlError else { return false }
            return true
        }
    }

    @Test("non-HTTP schemes are refused")
    func onlyHTTP() async throws {
        let client = CurlHTTPClient()
        defer { Task { await client.shutdown() } }
        await #expect(throws: CurlError.self) {
            _ = try await client.send(CurlRequest(url: "file:///etc/passwd"))
        }
    }
}

@Suite("GitHub client: rate limits that never end")
struct GitHubRateLimitLoopTests {
    @Test(
        "429 with Retry-After: 0 or a reset in the past is waited out a bounded number of times, at least the minimum each",
        arguments: [[HTTPField.Name.retryAfter: "0"], [.xRateLimitRemaining: "0", .xRateLimitReset: "1000"]]
            as [HTTPFields])
    func boundedWaits(_ headers: HTTPFields) async throws {
        let requests = RequestCounter()
        let router = Router()
        router.get("/pulls") { _, _ -> Response in
            await requests.increment()
            return Response(status: .tooManyRequests, headers: headers)
        }
        let server = try await LoopbackServer.start(router)
        defer { server.task.cancel() }
        let http = CurlHTTPClient()
        let client = GitHubAPIClient(
            client: http, token: nil, logger: Logger(label: "test"), minimumRateLimitWait: .milliseconds(50))
        let start = ContinuousClock.now
        do {
            _ = try await client.get("\(server.baseURL)/pulls")
            Issue.record("an endless rate limit did not fail the request")
        } catch let failure as GitHubAPIClient.Failure {
            #expect(failure.problem.contains("still rate limited"), "\(failure)")
        }
        let elapsed = ContinuousClock.now - start
        #expect(await requests.count == GitHubAPIClient.maxRateLimitWaits + 1)
        #expect(elapsed >= .milliseconds(50 * GitHubAPIClient.maxRateLimitWaits), "waited \(elapsed)")
        await http.shutdown()
    }
}

/// Counts requests a test server received.
actor RequestCounter {
    private(set) var count = 0
    func increment() { count += 1 }
}
