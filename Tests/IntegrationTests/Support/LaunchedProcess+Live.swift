import Foundation
import HTTPClient

extension LaunchedProcess {
    /// Launches `name` on a fresh port and waits until it answers `/health/live`.
    /// A process that exits first (another process took its port between the
    /// probe and its bind, an ephemeral-port race under parallel tests) is
    /// launched again on another port; its log is in the error if it keeps failing.
    static func launchLive(
        _ name: String, directory: URL, logName: String? = nil, client: CurlHTTPClient,
        environment: (Int) -> [String: String]
    ) async throws -> (LaunchedProcess, String) {
        var lastLog = ""
        for _ in 0..<3 {
            let port = try FreePort.find()
            let process = try LaunchedProcess(
                name, environment: environment(port), logDirectory: directory, logName: logName)
            let url = "http://127.0.0.1:\(port)"
            let deadline = ContinuousClock.now + .seconds(60)
            while ContinuousClock.now < deadline, process.isRunning {
                let answer = try? await client.send(CurlRequest(url: "\(url)/health/live", timeout: .seconds(2)))
                if answer?.status == .ok { return (process, url) }
                try await Task.sleep(for: .milliseconds(100))
            }
            lastLog = process.logTail()
            if process.isRunning {
                _ = process.terminate()
                throw HarnessError("\(name) did not become live within 60 s:\n\(lastLog)")
            }
        }
        throw HarnessError("\(name) exited at start three times; its last log:\n\(lastLog)")
    }
}
