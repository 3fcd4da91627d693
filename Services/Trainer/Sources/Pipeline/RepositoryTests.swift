import Foundation
import Learning
import Subprocess

/// Runs the repository's own tests (`tests:`) before anything trains: the command runs like
/// `train:` (see `RepositoryTraining`: the same sandbox, the data split as CSV files, no secret
/// of the trainer's) in the environment of `tests.requirements` or the model's, with
/// `CONVEYOR_JUNIT_FILE` naming where a JUnit report may be written. The report (or, without
/// one, the exit status and the output's tail) is returned whatever the outcome; the caller
/// fails the run when it did not succeed.
struct RepositoryTests {
    let repository: URL
    let spec: Manifest.TestsSpec
    let environment: URL?
    let memoryLimit: Int
    let sandbox: Sandbox

    static let reportName = "junit.xml"
    /// The largest report read (a larger one counts as no report).
    static let reportLimit = 16 << 20

    /// `CONVEYOR_JUNIT_FILE`, and pytest told to write it without being asked (`PYTEST_ADDOPTS`),
    /// with no cache written into the read-only checkout.
    static func variables(outputDirectory: URL) -> [String: String] {
        let report = outputDirectory.appendingPathComponent(reportName).path
        return [
            "CONVEYOR_JUNIT_FILE": report, "PYTEST_ADDOPTS": "--junitxml=\(report) -p no:cacheprovider",
            "PYTHONDONTWRITEBYTECODE": "1",
        ]
    }

    func run(
        manifest: Manifest, train: CSVTable, test: CSVTable, log: (String) -> Void, keep: ([RunFile]) -> Void,
        cancellation: CancellationToken?
    ) throws -> RepositoryTestReport {
        let command = Manifest.TrainSpec(
            command: spec.command, requirements: nil, output: nil, timeout: spec.timeout ?? "10m")
        let start = ContinuousClock.now
        return try RepositoryTraining(
            repository: repository, spec: command, environment: environment, memoryLimit: memoryLimit,
            sandbox: sandbox
        ).run(
            manifest: manifest, train: train, test: test, excluding: [],
            variables: Self.variables, log: log,
            keep: keep, cancellation: cancellation
        ) { directory, failure in
            let elapsed = (ContinuousClock.now - start).inSeconds
            // The report is the untrusted code's file: read like its outputs (no links, FIFOs or devices, bounded).
            var report =
                (try? OutputFile.read(Self.reportName, in: directory, limit: Self.reportLimit).get())
                .flatMap(JUnitReport.parse)
                ?? RepositoryTestReport(
                    passed: 0, failed: 0, errors: 0, skipped: 0, seconds: elapsed, failures: [], hasReport: false,
                    exitStatus: nil)
            switch failure {
            case nil: report.exitStatus = 0
            case .exited(let status, let output):
                report.exitStatus = status
                if !report.hasReport || report.failures.isEmpty { report.output = String(output.suffix(1000)) }
            case .some(let other):
                report.output = "\(spec.command.joined(separator: " ")) \(other)"
            }
            return report
        }
    }
}
