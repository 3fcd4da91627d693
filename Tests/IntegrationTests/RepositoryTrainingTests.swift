import Foundation
import Learning
import Subprocess
import Testing

@testable import TrainerService

/// The repository's own training command (`train:`), run as untrusted code.
@Suite("Bring your own training code: train: runs safely")
struct RepositoryTrainingTests {
    /// A repository with y = 2a + 3b - c + 1, `valid.onnx` (that exact model) and a train: command.
    static func repository(command: [String], timeout: String = "60s", fixtures: URL, name: String) throws -> URL {
        let quoted = command.map { "'\($0.replacingOccurrences(of: "'", with: "''"))'" }.joined(separator: ", ")
        let manifest = ONNXRepository.manifest(
            model: "{format: onnx}", train: "{command: [\(quoted)], timeout: \(timeout)}")
        return try ONNXRepository.make(name, manifest: manifest, fixtures: fixtures, model: "valid", as: "valid.onnx")
    }

    /// Runs the pipeline on a thread of its own (it blocks on the command).
    static func train(_ repo: URL) async throws -> (TrainingOutcome?, TrainingFailure?, [String]) {
        try await BlockingWork.run {
            var lines: [String] = []
            do {
                let outcome = try TrainingPipeline(repository: repo).run(
                    version: "v1", baseline: nil, log: { lines.append($0) })
                return (outcome, nil, lines)
            } catch let failure as TrainingFailure {
                return (nil, failure, lines)
            }
        }
    }

    @Test(
        "the command gets the data and schema, never the trainer's environment, and its model is evaluated by Conveyor")
    func scrubbedEnvironmentAndSuccess() async throws {
        let fixtures = try await ONNXRepository.fixtures()
        defer { try? FileManager.default.removeItem(at: fixtures) }
        setenv("CONVEYOR_SECRET_PROBE", "do-not-leak", 1)
        let repo = try Self.repository(
            command: [
                "/bin/sh", "-c",
                "env; head -1 \"$CONVEYOR_TRAIN_FILE\"; cp valid.onnx \"$CONVEYOR_OUTPUT_DIR/model.onnx\"",
            ],
            fixtures: fixtures, name: "ok")
        let (outcome, failure, lines) = try await Self.train(repo)
        #expect(failure == nil, "\(String(describing: failure))")
        #expect((outcome?.artifact.metrics["rmse"] ?? 1) < 1e-5, "Conveyor's own evaluation of the written model")
        #expect(outcome?.gates.allSatisfy { $0.passed } == true)
        let output = lines.joined(separator: "\n")
        #expect(output.contains("| CONVEYOR_TARGET=y"))
        #expect(output.contains("| CONVEYOR_FEATURES=a,b,c"))
        #expect(output.contains("| a,b,c,y"), "the train file is the split's CSV")
        for secret in ["CONVEYOR_SECRET_PROBE", "do-not-leak", "CONVEYOR_TEST_PYTHON", "DATABASE_URL", "PG_BIN"] {
            #expect(!output.contains(secret), "\(secret) reached the command")
        }
        if geteuid() == 0 {
            let (_, whoFailure, whoLines) = try await Self.train(
                try Self.repository(
                    command: ["/bin/sh", "-c", "id -un; cp valid.onnx \"$CONVEYOR_OUTPUT_DIR/model.onnx\""],
                    fixtures: fixtures, name: "who"))
            #expect(whoFailure == nil, "\(String(describing: whoFailure))")
            #expect(whoLines.contains("| nobody"), "runs unprivileged: \(whoLines)")
        }
    }

    @Test("a hang past the timeout is killed with everything it started")
    func timeout() async throws {
        let fixtures = try await ONNXRepository.fixtures()
        defer { try? FileManager.default.removeItem(at: fixtures) }
        let marker = "conveyor-own-\(UUID().uuidString.prefix(8))"
        let repo = try Self.repository(
            command: ["/bin/bash", "-c", "trap '' TERM; (exec -a \(marker) sleep 60) & exec -a \(marker) sleep 60"],
            timeout: "1s", fixtures: fixtures, name: "hang")
        let start = ContinuousClock.now
        let (_, failure, _) = try await Self.train(repo)
        #expect(
            failure?.reason.contains("did not finish within its timeout of 1 s") == true,
            "\(String(describing: failure))")
        #expect(ContinuousClock.now - start < .seconds(20))
        try await Task.sleep(for: .milliseconds(500))
        #expect(await !CancellationTests.running(marker), "no child survives the timeout")
    }

    @Test("a non-zero exit, too much output, no output file and an invalid one each fail the run with that reason")
    func failures() async throws {
        let fixtures = try await ONNXRepository.fixtures()
        defer { try? FileManager.default.removeItem(at: fixtures) }
        let cases: [(String, [String], String)] = [
            (
                "exit", ["/bin/sh", "-c", "echo 'ValueError: bad data' >&2; exit 3"],
                "exited with status 3: ValueError: bad data"
            ),
            ("chatty", ["/bin/sh", "-c", "yes conveyor"], "wrote more than 52428800 bytes of output"),
            ("nothing", ["/bin/sh", "-c", "true"], "did not write model.onnx into $CONVEYOR_OUTPUT_DIR"),
            ("garbage", ["/bin/sh", "-c", "echo nonsense > \"$CONVEYOR_OUTPUT_DIR/model.onnx\""], "not an ONNX model"),
            ("missing program", ["/nonexistent/python3"], "train.py"),
        ]
        for (name, command, reason) in cases {
            let (outcome, failure, _) = try await Self.train(
                try Self.repository(
                    command: command, fixtures: fixtures, name: name.replacingOccurrences(of: " ", with: "-")))
            #expect(outcome == nil, "\(name) succeeded")
            if name == "missing program" {
                #expect(failure?.stage == "command", "\(name): \(String(describing: failure))")
            } else {
                #expect(failure?.reason.contains(reason) == true, "\(name): \(String(describing: failure))")
            }
        }
    }
}
