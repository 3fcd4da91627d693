import Foundation

/// What a run's repository tests said (`training_runs.tests`), as the run page shows it.
/// Stored properties only: the templates read them by reflection.
struct TestSummary: Sendable {
    /// One failing test: `file::test` and its message.
    struct Failure: Sendable, Decodable {
        let name: String
        let message: String
    }

    let state: String
    let stateClass: String
    let counts: String
    let failures: [Failure]
    let hasFailures: Bool
    /// The output's tail, when there was no report to name failures.
    let output: String?

    /// What the trainer recorded (see the trainer's `RepositoryTestReport`).
    private struct Recorded: Decodable {
        let passed: Int
        let failed: Int
        let errors: Int
        let skipped: Int
        let seconds: Double
        let failures: [Failure]
        let exitStatus: Int32?
        let output: String?
        enum CodingKeys: String, CodingKey {
            case passed, failed, errors, skipped, seconds, failures, output
            case exitStatus = "exit_status"
        }
    }

    /// The summary of a run's `tests` JSON (nil: the repository has no tests, or they did not run).
    init?(_ text: String?) {
        guard let text, let recorded = try? JSONDecoder().decode(Recorded.self, from: Data(text.utf8)) else {
            return nil
        }
        let passed = recorded.exitStatus == 0 && recorded.failed == 0 && recorded.errors == 0
        state = passed ? "passed" : "failed"
        stateClass = DashboardFormat.stateClass(passed ? "succeeded" : "failed")
        counts =
            "\(recorded.passed) passed, \(recorded.failed) failed, \(recorded.errors) errors, \(recorded.skipped) skipped in "
            + String(format: "%.1f s", recorded.seconds)
        failures = recorded.failures
        hasFailures = !recorded.failures.isEmpty
        output = passed ? nil : recorded.output
    }
}
