import Foundation
import Learning
import Subprocess
import Testing

@testable import TrainerService

/// The repository's own tests as a gate before training (issue 34): real pytest (from PyPI, in
/// the environment of `tests.requirements`) run in the training sandbox, its JUnit report read
/// for counts and the failing tests' names, a hanging suite killed at its timeout.
@Suite("The repository's tests run before training", .serialized)
struct RepositoryTestsGateTests {
    /// Environments shared by these tests (pytest is installed once).
    static let environments = FileManager.default.temporaryDirectory.appendingPathComponent(
        "conveyor-test-pytest-environments", isDirectory: true)

    /// A linear model over 200 rows, with `tests/test_data.py` holding `tests` and `tests:` set to `spec`.
    static func repository(_ name: String, tests: String, spec: String) throws -> URL {
        let repo = FileManager.default.temporaryDirectory.appendingPathComponent(
            "conveyor-tests-gate-\(name)-\(UUID().uuidString.prefix(6))", isDirectory: true)
        try FileManager.default.createDirectory(
            at: repo.appendingPathComponent("tests"), withIntermediateDirectories: true)
        try """
        name: tested-model
        task: regression
        data: {path: data.csv, split: {test_fraction: 0.25}}
        target: y
        features:
          - {name: a, type: numeric}
          - {name: b, type: numeric}
        model: {algorithm: linear_regression}
        tests: \(spec)
        gates: {}
        """.write(to: repo.appendingPathComponent("conveyor.yaml"), atomically: true, encoding: .utf8)
        let rows = (0..<200).map { i in "\(i % 7),\(i % 5),\(2 * (i % 7) - (i % 5) + 1)" }
        try ("a,b,y\n" + rows.joined(separator: "\n") + "\n").write(
            to: repo.appendingPathComponent("data.csv"), atomically: true, encoding: .utf8)
        try "pytest==8.3.4\n".write(
            to: repo.appendingPathComponent("requirements-test.txt"), atomically: true, encoding: .utf8)
        try tests.write(to: repo.appendingPathComponent("tests/test_data.py"), atomically: true, encoding: .utf8)
        // Readable by the unprivileged user the sandbox runs the tests as.
        for path in [repo.path, repo.appendingPathComponent("tests").path] { _ = chmod(path, 0o755) }
        return repo
    }

    static let pytest = "{command: [python3, -m, pytest, -q, tests/], requirements: requirements-test.txt}"

    /// Runs the pipeline; returns its outcome or failure, the test report it was handed, and the log.
    static func train(_ repo: URL) async throws -> (TrainingOutcome?, TrainingFailure?, RepositoryTestReport?, String) {
        try await BlockingWork.run {
            var lines: [String] = []
            var report: RepositoryTestReport?
            let pipeline = TrainingPipeline(repository: repo, pythonEnvironments: environments)
            do {
                let outcome = try pipeline.run(
                    version: "v1", baseline: nil, log: { lines.append($0) }, tests: { report = $0 })
                return (outcome, nil, report, lines.joined(separator: "\n"))
            } catch let failure as TrainingFailure {
                return (nil, failure, report, lines.joined(separator: "\n"))
            }
        }
    }

    @Test("passing tests: counted from pytest's own JUnit report (the data files are the split's), then training")
    func passing() async throws {
        let repo = try Self.repository(
            "pass",
            tests: """
                import csv, os, pytest

                def rows(variable):
                    with open(os.environ[variable]) as f:
                        return list(csv.DictReader(f))

                def test_columns():
                    assert set(rows("CONVEYOR_TRAIN_FILE")[0]) == {"a", "b", "y"}

                def test_split_sizes():
                    assert (len(rows("CONVEYOR_TRAIN_FILE")), len(rows("CONVEYOR_TEST_FILE"))) == (150, 50)

                def test_no_secrets():
                    assert "DATABASE_URL" not in os.environ and "AWS_SECRET_ACCESS_KEY" not in os.environ

                @pytest.mark.skip(reason="not today")
                def test_later():
                    pass
                """, spec: Self.pytest)
        defer { try? FileManager.default.removeItem(at: repo) }
        let (outcome, failure, report, log) = try await Self.train(repo)
        #expect(failure == nil, "\(String(describing: failure))\n\(log)")
        #expect(outcome != nil)
        let tests = try #require(report, "\(log)")
        #expect(tests.hasReport && tests.succeeded)
        #expect((tests.passed, tests.failed, tests.errors, tests.skipped) == (3, 0, 0, 1), "\(tests)")
        #expect(log.contains("tests passed: 3 passed, 1 skipped"), "\(log)")
    }

    @Test("a failing test fails the run at stage tests, named as pytest names it, with its message")
    func failing() async throws {
        let repo = try Self.repository(
            "fail",
            tests: """
                def test_no_nulls():
                    assert False, "column a has 3 nulls"

                def test_ok():
                    pass

                def test_broken_fixture(missing_fixture):
                    pass
                """, spec: Self.pytest)
        defer { try? FileManager.default.removeItem(at: repo) }
        let (outcome, failure, report, log) = try await Self.train(repo)
        #expect(outcome == nil)
        #expect(failure?.stage == .tests, "\(String(describing: failure))")
        #expect(failure?.reason == "tests failed: tests/test_data.py::test_no_nulls and 1 more", "\(log)")
        let tests = try #require(report)
        #expect((tests.passed, tests.failed, tests.errors) == (1, 1, 1), "\(tests)")
        #expect(tests.exitStatus == 1)
        #expect(
            tests.failures.map(\.name) == [
                "tests/test_data.py::test_no_nulls", "tests/test_data.py::test_broken_fixture",
            ])
        #expect(tests.failures.first?.message.contains("column a has 3 nulls") == true, "\(tests.failures)")
        #expect(!log.contains("trained linear_regression"), "nothing trained")
    }

    @Test("a hanging test suite is killed at tests.timeout; a command without a report fails with its output")
    func hangingAndNoReport() async throws {
        let hanging = try Self.repository(
            "hang", tests: "import time\n\ndef test_forever():\n    time.sleep(600)\n",
            spec: "{command: [python3, -m, pytest, -q, tests/], requirements: requirements-test.txt, timeout: 3s}")
        defer { try? FileManager.default.removeItem(at: hanging) }
        // The environment is built before the clock starts (it may be the first build).
        _ = try await Self.train(
            try Self.repository("warm", tests: "def test_ok():\n    pass\n", spec: Self.pytest))
        let start = ContinuousClock.now
        let (_, failure, report, log) = try await Self.train(hanging)
        let elapsed = ContinuousClock.now - start
        #expect(failure?.stage == .tests, "\(String(describing: failure))\n\(log)")
        #expect(report?.output?.contains("did not finish within its timeout of 3 s and was killed") == true)
        #expect(elapsed < .seconds(60), "killed at its timeout, not left to run: \(elapsed)")

        let noReport = try Self.repository(
            "noreport", tests: "", spec: "{command: [/bin/sh, -c, 'echo schema check failed; exit 3']}")
        defer { try? FileManager.default.removeItem(at: noReport) }
        let (_, plain, plainReport, _) = try await Self.train(noReport)
        #expect(plain?.reason == "tests failed (exit status 3)")
        #expect(plainReport?.hasReport == false && plainReport?.output?.contains("schema check failed") == true)

        // A "report" that is a link to an endless device is not read (it would never end).
        let linked = try Self.repository(
            "linked", tests: "",
            spec: "{command: [/bin/sh, -c, 'ln -s /dev/zero \"$CONVEYOR_JUNIT_FILE\"; exit 1'], timeout: 60s}")
        defer { try? FileManager.default.removeItem(at: linked) }
        let (_, linkFailure, linkReport, _) = try await Self.train(linked)
        #expect(linkFailure?.stage == .tests && linkReport?.hasReport == false, "\(String(describing: linkReport))")
    }
}
