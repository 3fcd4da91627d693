import Foundation
import HTTPClient
import Subprocess
import Testing

/// What a hostile or broken client does over a raw socket: the real server
/// process answers or closes within its deadlines instead of holding the
/// connection (and a file descriptor) forever.
@Suite("serving: connection deadlines over raw sockets", .serialized)
struct ConnectionLimitTests {
    /// Writes `request` on a fresh TCP connection, reads until the server
    /// closes it (or `wait` seconds pass) and returns what came back and how long it took.
    /// `wait` is long (20 s) so that a loaded machine never reaches it: the event checked is
    /// that the server closed the socket itself (`<<exit 0>>`), not `timeout` (124). CI failed
    /// once on a 4 s bound when a 413 took 5.4 s to arrive on a busy machine.
    static func raw(port: Int, request: String, wait: Int = 20) async throws -> (reply: String, seconds: Double) {
        let start = ContinuousClock.now
        let script = """
            exec 3<>/dev/tcp/127.0.0.1/\(port) || exit 9
            printf '%b' "$REQUEST" >&3
            timeout \(wait) cat <&3
            echo "<<exit $?>>"
            """
        let result = try await CommandRunner.output(["bash", "-c", script], environment: ["REQUEST": request])
        let elapsed = ContinuousClock.now - start
        return (result.stdout, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }

    @Test(
        "idle sockets and unfinished headers are closed after HTTP_IDLE_TIMEOUT; a huge Content-Length is a 413 at once"
    )
    func deadlines() async throws {
        let fixture = try await ServingFixture()
        let version = try await fixture.deploy(
            manifest: ServingData.regressionManifest, csv: ServingData.regressionCSV, pr: 1)
        let (process, url) = try await fixture.launchServing("serving", settings: ["HTTP_IDLE_TIMEOUT": "500ms"])
        defer { _ = process.terminate() }
        try await fixture.waitForVersion(version, at: url)
        let port = Int(url.split(separator: ":").last!)!

        let idle = try await Self.raw(port: port, request: "")
        #expect(idle.reply.contains("<<exit 0>>"), "the server closed the idle socket: \(idle.reply)")
        #expect(idle.seconds < 15, "closed after \(idle.seconds) s")

        let unfinished = try await Self.raw(port: port, request: "GET /health/live HTTP/1.1\\r\\nHost: x\\r\\nX-Slow:")
        #expect(unfinished.reply.contains("<<exit 0>>"), "\(unfinished.reply)")
        #expect(unfinished.seconds < 15, "closed after \(unfinished.seconds) s")

        let huge = try await Self.raw(
            port: port,
            request:
                "POST /predict HTTP/1.1\\r\\nHost: x\\r\\nContent-Type: application/json\\r\\nContent-Length: 1000000000000\\r\\n\\r\\n"
        )
        #expect(huge.reply.hasPrefix("HTTP/1.1 413"), "\(huge.reply.prefix(200))")
        #expect(huge.reply.contains("larger than"), "\(huge.reply)")
        #expect(huge.reply.contains("<<exit 0>>"), "the server closed the connection without reading the body")
        #expect(huge.seconds < 15, "answered after \(huge.seconds) s")

        let (status, _) = try await fixture.json("GET", "\(url)/health/live")
        #expect(status == 200, "the service keeps answering")
        await fixture.shutdown()
    }

    @Test(
        "at MAX_CONNECTIONS, idle sockets make room: /health/live answers at once, and the port never holds more than the limit"
    )
    func idleSocketsMakeRoom() async throws {
        let fixture = try await ServingFixture()
        // The idle timeout stays at its default (60 s): only the limit can make room in time.
        let (process, url) = try await fixture.launchServing("serving-limit", settings: ["MAX_CONNECTIONS": "4"])
        defer { _ = process.terminate() }
        let port = Int(url.split(separator: ":").last!)!
        let idle = try IdleConnections(port: port, count: 8)
        defer { idle.close() }
        var peak = 0
        // The 4 idle longest are closed for the newer ones (before: none, until the idle timeout).
        idle.waitUntilClosed(4, timeout: 5) { peak = max(peak, IdleConnections.accepted(port: port)) }

        let start = ContinuousClock.now
        let health = try await fixture.http.send(CurlRequest(url: "\(url)/health/live", timeout: .seconds(10)))
        let waited = ContinuousClock.now - start
        #expect(health.status.code == 200)
        #expect(waited < .seconds(3), "/health/live answered after \(waited) behind 8 idle sockets")
        peak = max(peak, IdleConnections.accepted(port: port))
        // One over the limit while one is closed for it, and what one read of the socket accepts (4).
        #expect(peak <= 4 + 1 + 4, "the port held \(peak) connections with MAX_CONNECTIONS 4")
        #expect(idle.closedByServer >= 4, "the idle sockets idle longest were closed for newer ones")
        await fixture.shutdown()
    }

    @Test("a body that cannot be read (a broken chunk) is a 400 saying so, not a 413; HOST binds the given address")
    func unreadableBodyAndBindAddress() async throws {
        let fixture = try await ServingFixture()
        let version = try await fixture.deploy(
            manifest: ServingData.regressionManifest, csv: ServingData.regressionCSV, pr: 1)
        let (process, url) = try await fixture.launchServing("serving", settings: ["HOST": "127.0.0.1"])
        defer { _ = process.terminate() }
        // Live is not ready: without a loaded model /predict answers 503 before it reads the body.
        try await fixture.waitForVersion(version, at: url)
        let port = Int(url.split(separator: ":").last!)!

        let broken = try await Self.raw(
            port: port,
            request:
                "POST /predict HTTP/1.1\\r\\nHost: x\\r\\nContent-Type: application/json\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n2\\r\\nab\\r\\nZZ\\r\\n"
        )
        #expect(broken.reply.hasPrefix("HTTP/1.1 400"), "\(broken.reply.prefix(300))")
        #expect(broken.reply.contains("could not be read"), "\(broken.reply)")

        // The listening socket is bound to 127.0.0.1 only (/proc/net/tcp: local address, port, state 0A = LISTEN).
        // Read to the end: /proc reports a size of 0, and with the suite's many sockets the table is several pages.
        let file = try #require(FileHandle(forReadingAtPath: "/proc/net/tcp"))
        let table = String(decoding: try file.readToEnd() ?? Data(), as: UTF8.self)
        try file.close()
        let listening = table.split(separator: "\n").dropFirst().compactMap { line -> String? in
            let fields = line.split(separator: " ")
            guard fields.count > 3, fields[3] == "0A" else { return nil }
            let local = fields[1].split(separator: ":")
            guard local.count == 2, Int(local[1], radix: 16) == port else { return nil }
            return String(local[0])
        }
        #expect(listening == ["0100007F"], "bound to \(listening) (0100007F is 127.0.0.1)")
        await fixture.shutdown()
    }
}
