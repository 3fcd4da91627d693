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

    /// Runs the pipeline on a thread of its own (it blocks on the command);
    /// `onLine` sees each log line as it is logged.
    static func train(
        _ repo: URL, environments: URL? = nil, memoryLimit: Int = 8 << 30,
        onLine: @escaping @Sendable (String) -> Void = { _ in }
    ) async throws -> (TrainingOutcome?, TrainingFailure?, [String]) {
        try await trainKeeping(repo, environments: environments, memoryLimit: memoryLimit, onLine: onLine).0
    }

    /// `train`, and the files the command kept.
    static func trainKeeping(
        _ repo: URL, environments: URL? = nil, memoryLimit: Int = 8 << 30,
        onLine: @escaping @Sendable (String) -> Void = { _ in }
    ) async throws -> ((TrainingOutcome?, TrainingFailure?, [String]), [RunFile]) {
        try await BlockingWork.run {
            var lines: [String] = []
            var files: [RunFile] = []
            let pipeline = TrainingPipeline(
                repository: repo, pythonEnvironments: environments, commandMemoryLimit: memoryLimit)
            do {
                let outcome = try pipeline.run(
                    version: "v1", baseline: nil,
                    log: {
                        lines.append($0)
                        onLine($0)
                    }, keep: { files += $0 })
                return ((outcome, nil, lines), files)
            } catch let failure as TrainingFailure {
                return ((nil, failure, lines), files)
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
            // A timeout far past what the output limit needs: under the whole suite's load, 50 MB of
            // `yes` through the run's log once took over a minute (CI), and the timeout fired first.
            let (outcome, failure, _) = try await Self.train(
                try Self.repository(
                    command: command, timeout: "10m", fixtures: fixtures,
                    name: name.replacingOccurrences(of: " ", with: "-")))
            #expect(outcome == nil, "\(name) succeeded")
            if name == "missing program" {
                #expect(failure?.stage == .command, "\(name): \(String(describing: failure))")
            } else {
                #expect(failure?.reason.contains(reason) == true, "\(name): \(String(describing: failure))")
            }
        }
    }

    @Test(
        "a model.onnx that is a symbolic link out of the output directory or a hard link is refused, never read; so are such kept files"
    )
    func linkedOutputs() async throws {
        let fixtures = try await ONNXRepository.fixtures()
        defer { try? FileManager.default.removeItem(at: fixtures) }
        let cases: [(String, String, String)] = [
            ("symlink", "ln -s /etc/passwd model.onnx", "model.onnx was not read: it is a symbolic link"),
            ("hardlink", "echo own > own.onnx; ln own.onnx model.onnx", "model.onnx was not read: it is a hard link"),
        ]
        for (name, command, reason) in cases {
            let kept = "echo secret > notes.txt; ln notes.txt copy.txt; ln -s /etc/passwd passwd.txt"
            let ((outcome, failure, lines), files) = try await Self.trainKeeping(
                try Self.repository(
                    command: ["/bin/sh", "-c", "cd \"$CONVEYOR_OUTPUT_DIR\"; \(kept); \(command)"], fixtures: fixtures,
                    name: "linked-\(name)"))
            #expect(outcome == nil, "\(name): the linked model was used")
            #expect(failure?.reason.contains(reason) == true, "\(name): \(String(describing: failure))")
            #expect(files.isEmpty, "\(name): kept \(files.map(\.name))")
            for file in ["copy.txt", "notes.txt"] {
                #expect(lines.contains { $0.contains("not kept: \(file) (it is a hard link") }, "\(name): \(lines)")
            }
            #expect(lines.contains { $0.contains("not kept: passwd.txt (it is a symbolic link") }, "\(name)")
        }
    }

    @Test("a model.onnx that is a FIFO is refused as one, never opened, rather than said to be missing")
    func fifoOutput() async throws {
        let fixtures = try await ONNXRepository.fixtures()
        defer { try? FileManager.default.removeItem(at: fixtures) }
        let (outcome, failure, _) = try await Self.train(
            try Self.repository(
                command: ["/bin/sh", "-c", "mkfifo \"$CONVEYOR_OUTPUT_DIR/model.onnx\""], fixtures: fixtures,
                name: "fifo"))
        #expect(outcome == nil)
        #expect(failure?.reason.contains("it is a FIFO, not a regular file") == true, "\(String(describing: failure))")
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
        #expect(failure?.stage == .environment, "\(String(describing: failure))")
        #expect(failure?.reason.contains("conveyor-no-such-package-9f3a") == true)
        let left = try FileManager.default.contentsOfDirectory(atPath: environments.path).filter {
            $0.hasPrefix("venv-") && !$0.hasSuffix(".lock")
        }
        #expect(left.count == 1, "only the good environment stays: \(left)")
    }

    @Test("output is in the log while the command still runs, capped with the cap said and the last lines kept")
    func streamedOutput() async throws {
        let fixtures = try await ONNXRepository.fixtures()
        defer { try? FileManager.default.removeItem(at: fixtures) }
        // The command waits for a file the test writes only once it has seen the first line in the log:
        // without streaming it would wait out its timeout.
        let waits = try Self.repository(
            command: [
                "/bin/sh", "-c",
                "echo \"started $CONVEYOR_OUTPUT_DIR\"; while [ ! -e \"$CONVEYOR_OUTPUT_DIR/go\" ]; do sleep 0.05; done; "
                    + "cp valid.onnx \"$CONVEYOR_OUTPUT_DIR/model.onnx\"",
            ],
            timeout: "30s", fixtures: fixtures, name: "waits")
        let (outcome, failure, _) = try await Self.train(waits) { line in
            guard line.hasPrefix("| started ") else { return }
            FileManager.default.createFile(atPath: String(line.dropFirst("| started ".count)) + "/go", contents: Data())
        }
        #expect(outcome != nil && failure == nil, "\(String(describing: failure))")

        let chatty = try Self.repository(
            command: [
                "/bin/sh", "-c",
                "awk 'BEGIN { for (i = 0; i < 4000; i++) printf \"line %d %080d\\n\", i, 0 }'; "
                    + "echo 'the very last line'; cp valid.onnx \"$CONVEYOR_OUTPUT_DIR/model.onnx\"",
            ],
            fixtures: fixtures, name: "chatty-ok")
        let (_, chattyFailure, lines) = try await Self.train(chatty)
        #expect(chattyFailure == nil, "\(String(describing: chattyFailure))")
        let output = lines.filter { $0.hasPrefix("| ") }
        #expect(output.first?.hasPrefix("| line 0 ") == true)
        #expect(output.last == "| the very last line", "the end of the output is kept")
        #expect(lines.contains { $0.contains("passed the log's cap of 32 KiB") }, "the cap is said")
        let logged = output.reduce(0) { $0 + $1.utf8.count + 1 }
        // 32 KiB streamed, 50 tail lines of ~95 bytes and the "| " marks: far below the 372 kB written.
        #expect(logged < 40 * 1024, "\(logged) bytes of the 372 kB of output logged")
    }

    @Test("files the command writes beside its model are kept with the run, within the limits, even when it fails")
    func keptFiles() async throws {
        let fixtures = try await ONNXRepository.fixtures()
        defer { try? FileManager.default.removeItem(at: fixtures) }
        let writes = """
            cd "$CONVEYOR_OUTPUT_DIR"; echo '{"depth": 3}' > params.json; printf 'PNG' > plot.png; \
            mkdir plots; echo x > plots/a.txt; head -c 3000000 /dev/zero > big.bin; ln -s /etc/passwd passwd.txt; \
            echo cache > .cached
            """
        let repo = try Self.repository(
            command: ["/bin/sh", "-c", writes + "; cp \"$OLDPWD/valid.onnx\" model.onnx"], fixtures: fixtures,
            name: "files")
        let ((outcome, failure, lines), files) = try await Self.trainKeeping(repo)
        #expect(outcome != nil && failure == nil, "\(String(describing: failure))")
        #expect(files.map(\.name) == ["params.json", "plot.png"], "\(files.map(\.name))")
        #expect(files.first.map { String(decoding: $0.content, as: UTF8.self) } == "{\"depth\": 3}\n")
        #expect(lines.contains { $0.contains("not kept: big.bin, 3000000 bytes (over the 2097152-byte limit") })
        #expect(lines.contains { $0.contains("not kept: plots/") })

        // A failing command's files are kept too: they explain the failure.
        let failing = try Self.repository(
            command: ["/bin/sh", "-c", "echo 'diverged' > \"$CONVEYOR_OUTPUT_DIR/debug.txt\"; exit 1"],
            fixtures: fixtures, name: "failing-files")
        let ((_, failed, _), failedFiles) = try await Self.trainKeeping(failing)
        #expect(failed?.reason.contains("exited with status 1") == true)
        #expect(failedFiles.map(\.name) == ["debug.txt"])
    }

    @Test("the command's address space is limited (RLIMIT_AS): allocating past it fails the run")
    func memoryLimit() async throws {
        let fixtures = try await ONNXRepository.fixtures()
        defer { try? FileManager.default.removeItem(at: fixtures) }
        let repo = try Self.repository(
            command: [
                "python3", "-c",
                "import os, shutil; b = bytearray(1 << 29); shutil.copy('valid.onnx', os.environ['CONVEYOR_OUTPUT_DIR'] + '/model.onnx')",
            ], fixtures: fixtures, name: "greedy")
        let (outcome, failure, lines) = try await Self.train(repo, memoryLimit: 128 << 20)
        #expect(outcome == nil)
        #expect(failure?.reason.contains("MemoryError") == true, "\(String(describing: failure))")
        #expect(lines.contains { $0.contains("memory limit 128 MiB") })
        // The same command with room enough succeeds: the limit, not the command, failed it.
        let (roomy, roomyFailure, _) = try await Self.train(repo, memoryLimit: 2 << 30)
        #expect(roomy != nil, "\(String(describing: roomyFailure))")
    }
}
