import DurationUnits
import Foundation
import HTTPClient
import JSON
import Logging
import Postgres
import ServiceKit

/// The bodies of `vcs tap` and `vcs target`: the same tap and target the
/// service runs in-process, with a pipe of JSON lines between them.
public enum SingerCommands {
    /// Runs the tap, writing one message per line to stdout.
    public static func tap(configuration: VCSConfiguration, statePath: String?, logger: Logger) async throws {
        let http = CurlHTTPClient(concurrency: 1)
        let tap = VCSApp.makeTap(configuration: configuration, http: http, logger: logger)
        let output = LineWriter(fileDescriptor: STDOUT_FILENO)
        do {
            let state = try statePath.map { try readState($0, tap: tap, repository: configuration.repository) }
            let summary = try await tap.run(state: state) { message in try output.write(message.line()) }
            try output.flush()
            logger.info(
                "tap finished",
                metadata: [
                    "pages": "\(summary.pages)", "records": "\(summary.records)",
                    "not_modified": "\(summary.notModified)",
                ])
        } catch {
            try? output.flush()
            await http.shutdown()
            throw error
        }
        await http.shutdown()
    }

    /// The STATE value in a `--state` file: its last non-blank line (a target's
    /// output has one a commit). A state that has bookmarks but none for this
    /// repository in a shape the tap reads is refused, never silently ignored.
    static func readState(_ path: String, tap: GitHubPullRequestTap, repository: String) throws -> JSONValue {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let lines = data.split(separator: UInt8(ascii: "\n")).filter { !$0.allSatisfy { $0 == 32 || $0 == 13 } }
        guard let last = lines.last, let state = try? JSONValue.parse(Array(last)), state.objectValue != nil else {
            throw ValidationFailure("--state \(path): not a JSON object")
        }
        guard state["bookmarks"] == nil || tap.hasBookmark(in: state) else {
            throw ValidationFailure(
                "--state \(path): no bookmark for \(repository); expected "
                    + #"{"bookmarks": {"<owner/repo>": {"pull_requests": {"since": ...}}}} or tap-github's "#
                    + #"{"bookmarks": {"pull_requests": {"<owner/repo>": {"since": ...}}}}"#)
        }
        return state
    }

    /// Reads messages from stdin into Postgres; writes each committed STATE's
    /// value to stdout, one JSON object a line, as Singer targets do (so
    /// `tap --state state.json | target > state.json` round-trips).
    public static func target(databaseURL: String, stateKey: String, batchSize: Int, logger: Logger) async throws {
        let database = try await DatabaseStartup.connect(url: databaseURL, logger: logger)
        let target = SingerTarget(
            database: database, loader: SingerPostgresLoader(), stateKey: stateKey, batchSize: batchSize,
            logger: logger)
        let output = LineWriter(fileDescriptor: STDOUT_FILENO)
        target.committedState = { state in
            try? output.write(SingerMessage.line(state))
            try? output.flush()
        }
        let started = ContinuousClock.now
        do {
            var lineNumber = 0
            for try await line in LineReader(fileDescriptor: STDIN_FILENO) {
                lineNumber += 1
                if line.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { continue }
                try await target.handle(try SingerMessage.parse(line, line: lineNumber), line: lineNumber)
            }
            try await target.flush()
        } catch {
            logger.error(
                "target failed; nothing after the last committed STATE was kept", metadata: ["error": "\(error)"])
            await database.shutdown()
            throw error
        }
        await database.shutdown()
        let elapsed = ContinuousClock.now - started
        let seconds = elapsed.inSeconds
        let summary = target.summary
        logger.info(
            "target finished",
            metadata: [
                "records": "\(summary.records)", "upserted": "\(summary.upserted)", "rejected": "\(summary.rejected)",
                "superseded": "\(summary.superseded)", "batches": "\(summary.batches)",
                "seconds": "\(String(format: "%.3f", seconds))",
                "records_per_second": "\(Int(Double(summary.records) / max(seconds, 1e-9)))",
            ])
    }

    /// A usage error with its message.
    public struct ValidationFailure: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }
}
