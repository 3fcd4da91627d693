import Foundation
import HTTPClient
import Subprocess
import Testing

/// The gRPC port under the limits of the HTTP one, as raw sockets and
/// grpcio (`Tests/Fixtures/grpc_limits.py`) find them: idle and silent
/// connections are closed, at most `MAX_CONNECTIONS` are held, and one
/// connection carries more calls than it allows at once by queueing them.
@Suite("serving: gRPC connection limits", .serialized)
struct GRPCLimitTests {
    static func fixture(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        let python = try #require(
            ProcessInfo.processInfo.environment["CONVEYOR_TEST_PYTHON"],
            "CONVEYOR_TEST_PYTHON names the test venv's python (deploy/local.sh test sets it)")
        let script = Trio.repositoryRoot.appendingPathComponent("Tests/Fixtures/grpc_limits.py").path
        let result = try await CommandRunner.output([python, script] + arguments)
        return (result.status, result.stdout + result.stderr.suffix(3000))
    }

    @Test(
        "silent connections are closed after HTTP_IDLE_TIMEOUT, at most MAX_CONNECTIONS are held, and both ports keep answering"
    )
    func idleConnections() async throws {
        let fixture = try await ServingFixture()
        let grpcPort = try FreePort.find()
        let (process, url) = try await fixture.launchServing(
            "serving-grpc-idle",
            settings: ["GRPC_PORT": "\(grpcPort)", "MAX_CONNECTIONS": "4", "HTTP_IDLE_TIMEOUT": "2s"])
        defer { _ = process.terminate() }
        _ = try await fixture.http.send(CurlRequest(url: "\(url)/health/live", timeout: .seconds(5)))
        let idle = try IdleConnections(port: grpcPort, count: 16)
        defer { idle.close() }
        var peak = 0
        let start = ContinuousClock.now
        let closed = idle.waitUntilClosed(timeout: 8) { peak = max(peak, IdleConnections.accepted(port: grpcPort)) }
        let elapsed = ContinuousClock.now - start
        #expect(closed == 16, "the server closed \(closed) of 16 silent connections within \(elapsed)")
        // One over the limit while one is closed for it, and what one read of the socket accepts (4).
        #expect(peak <= 4 + 1 + 4, "the gRPC port held \(peak) connections with MAX_CONNECTIONS 4")

        let health = try await fixture.http.send(CurlRequest(url: "\(url)/health/live", timeout: .seconds(5)))
        #expect(health.status.code == 200)
        let settings = try await Self.fixture(["127.0.0.1:\(grpcPort)", "settings"])
        #expect(settings.status == 0, "a new client is served: \(settings.output)")
        #expect(process.isRunning)
        await fixture.shutdown()
    }

    @Test(
        "MAX_CONCURRENT_STREAMS is advertised, and 500 calls at once on one connection all succeed (queued by the client)"
    )
    func concurrentCalls() async throws {
        let fixture = try await ServingFixture()
        let version = try await fixture.deploy(
            manifest: ServingData.regressionManifest, csv: ServingData.regressionCSV, pr: 1)
        let grpcPort = try FreePort.find()
        let (process, url) = try await fixture.launchServing(
            "serving-grpc-streams", settings: ["GRPC_PORT": "\(grpcPort)", "GRPC_MAX_CONCURRENT_STREAMS": "16"])
        defer { _ = process.terminate() }
        try await fixture.waitForVersion(version, at: url)
        let address = "127.0.0.1:\(grpcPort)"
        let settings = try await Self.fixture([address, "settings", "16"])
        #expect(settings.status == 0, "MAX_CONCURRENT_STREAMS=16 is advertised: \(settings.output)")
        let burst = try await Self.fixture([address, "burst", "shapes", "500"])
        #expect(burst.status == 0, "all 500 calls succeed: \(burst.output)")
        #expect(process.isRunning)
        await fixture.shutdown()
    }
}
