import Foundation

/// What the repository's own tests (`tests:`) said: counts from the JUnit report the command
/// wrote (pytest's `--junitxml=$CONVEYOR_JUNIT_FILE`), the first failures by name, and how long
/// they took. Without a report only the exit status and the output's tail are known.
public struct RepositoryTestReport: Codable, Sendable, Equatable {
    /// One failed (or erroring) test: `file::test` as pytest names it, and its message.
    public struct Failure: Codable, Sendable, Equatable {
        public let name: String
        public let message: String
    }

    public var passed: Int
    public var failed: Int
    public var errors: Int
    public var skipped: Int
    public var seconds: Double
    /// The first `RepositoryTestReport.failureLimit` failures and errors.
    public var failures: [Failure]
    /// Whether the command wrote a JUnit report (else the counts are zero and `output` says what happened).
    public var hasReport: Bool
    /// The command's exit status (nil: it was killed, or never started).
    public var exitStatus: Int32?
    /// The last lines of its output, when it failed.
    public var output: String?

    /// How many failures are kept by name.
    public static let failureLimit = 20

    enum CodingKeys: String, CodingKey {
        case passed, failed, errors, skipped, seconds, failures, output
        case hasReport = "has_report"
        case exitStatus = "exit_status"
    }

    /// Whether the tests passed.
    public var succeeded: Bool { exitStatus == 0 && failed == 0 && errors == 0 }

    /// One line for a commit status or a run's reason: the failing tests, named.
    public var summary: String {
        if succeeded {
            return "tests passed: \(passed) passed, \(skipped) skipped in \(String(format: "%.1f", seconds)) s"
        }
        let count = failed + errors
        guard let first = failures.first else {
            return "tests failed (exit status \(exitStatus.map(String.init) ?? "none"))"
        }
        let more = count > 1 ? " and \(count - 1) more" : ""
        return "tests failed: \(first.name)\(more)"
    }
}
