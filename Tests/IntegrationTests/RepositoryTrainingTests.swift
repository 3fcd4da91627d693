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
    static func train(_ repo: URL, environments: URL? = nil) async throws -> (
        TrainingOutcome?, TrainingFailure?, [String]
    ) {
        try await BlockingWork.run {
            var lines: [String] = []
            do {
                let outcome = try TrainingPipeline(repository: repo, pythonEnvironments: environments).run(
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

    @Test("train.requirements builds a virtual environment once; the next run with the same file reuses it")
    func environmentCache() async throws {
        let fixtures = try await ONNXRepository.fixtures()
        defer { try? FileManager.default.removeItem(at: fixtures) }
        let environments = fixtures.appendingPathComponent("environments")
        let command = [
            "python3", "-c",
            "import os, shutil, six; shutil.copy('valid.onnx', os.environ['CONVEYOR_OUTPUT_DIR'] + '/model.onnx')",
        ]
        func repository(_ name: String, requirements: String) throws -> URL {
            let quoted = command.map { "'\($0.replacingOccurrences(of: "'", with: "''"))'" }.joined(separator: ", ")
            let manifest = ONNXRepository.manifest(
                model: "{format: onnx}", train: "{command: [\(quoted)], requirements: requirements.txt, timeout: 5m}")
            let repo = try ONNXRepository.make(
                name, manifest: manifest, fixtures: fixtures, model: "valid", as: "valid.onnx")
            try requirements.write(
                to: repo.appendingPathComponent("requirements.txt"), atomically: true, encoding: .utf8)
            return repo
        }
        let first = ContinuousClock.now
        let (built, buildFailure, buildLines) = try await Self.train(
            try repository("first", requirements: "six==1.16.0\n"), environments: environments)
        let firstTime = ContinuousClock.now - first
        #expect(built != nil && buildFailure == nil, "\(String(describing: buildFailure))")
        #expect(buildLines.contains { $0.contains("built in") }, "\(buildLines)")
        let second = ContinuousClock.now
        let (reused, reuseFailure, reuseLines) = try await Self.train(
            try repository("second", requirements: "six==1.16.0\n"), environments: environments)
        let secondTime = ContinuousClock.now - second
        #expect(reused != nil && reuseFailure == nil, "\(String(describing: reuseFailure))")
        #expect(reuseLines.contains { $0.contains("reused") }, "\(reuseLines)")
        print("train.requirements: first run \(firstTime), cached run \(secondTime)")
        #expect(secondTime < firstTime)

        // A failed install fails the run with pip's message and leaves nothing to reuse.
        let (_, failure, _) = try await Self.train(
            try repository("broken", requirements: "conveyor-no-such-package-9f3a==0.0.1\n"),
            environments: environments)
        #expect(failure?.stage == "environment", "\(String(describing: failure))")
        #expect(failure?.reason.contains("conveyor-no-such-package-9f3a") == true)
        let left = try FileManager.default.contentsOfDirectory(atPath: environments.path).filter {
            $0.hasPrefix("venv-") && !$0.hasSuffix(".lock")
        }
        #expect(left.count == 1, "only the good environment stays: \(left)")
    }
}
