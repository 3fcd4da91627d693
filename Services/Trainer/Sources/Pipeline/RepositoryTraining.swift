import Foundation
import Learning
import Subprocess

/// Runs the repository's own training command (`train:` in conveyor.yaml)
/// as untrusted code (see `UserCommand`) and returns the ONNX file it wrote.
/// The command gets the data and the schema in environment variables, and
/// nothing else of the trainer's environment:
/// - `CONVEYOR_TRAIN_FILE`, `CONVEYOR_TEST_FILE`: CSV files of the split Conveyor evaluates on;
/// - `CONVEYOR_TARGET`, `CONVEYOR_TASK`, `CONVEYOR_FEATURES` (comma-separated names);
/// - `CONVEYOR_OUTPUT_DIR`: where it must write `train.output`; other files there stay with the run.
/// Its output is streamed into the run's log (see `CommandLog` for the cap).
struct RepositoryTraining {
    let repository: URL
    let spec: Manifest.TrainSpec
    /// The virtual environment built from `train.requirements`, if any: its
    /// `bin` leads PATH and `python3`/`python` name its interpreter.
    let environment: URL?
    /// Address-space limit for the command (`RLIMIT_AS`), in bytes.
    let memoryLimit: Int
    let sandbox: Sandbox

    /// Runs the command and returns the ONNX file it wrote; `keep` receives
    /// the other files it wrote, whether it succeeded or not.
    func run(
        manifest: Manifest, train: CSVTable, test: CSVTable, log: (String) -> Void, keep: ([RunFile]) -> Void,
        cancellation: CancellationToken?
    ) throws -> Data {
        try run(
            manifest: manifest, train: train, test: test, writes: spec.resolvedOutput, log: log, keep: keep,
            cancellation: cancellation
        ) { directory in try OutputFile.model(spec.resolvedOutput, in: directory) }
    }

    /// Runs the command and returns what `read` makes of its output directory (the command
    /// wrote `writes` there); `keep` receives the other files it wrote, whether it succeeded or not.
    func run<Output>(
        manifest: Manifest, train: CSVTable, test: CSVTable, writes: String, log: (String) -> Void,
        keep: ([RunFile]) -> Void, cancellation: CancellationToken?, read: (URL) throws -> Output
    ) throws -> Output {
        try run(
            manifest: manifest, train: train, test: test, excluding: [writes], log: log, keep: keep,
            cancellation: cancellation
        ) { directory, failure in
            if let failure {
                throw TrainingFailure(stage: .command, reason: "\(spec.command.joined(separator: " ")) \(failure)")
            }
            return try read(directory)
        }
    }

    /// Runs the command with `extra(outputDirectory)` added to its environment, then returns what `finish`
    /// makes of its output directory and of how it failed (nil: it exited 0); `keep` receives the
    /// files it wrote but `excluding`, whether it succeeded or not.
    func run<Output>(
        manifest: Manifest, train: CSVTable, test: CSVTable, excluding: [String],
        variables extra: (URL) -> [String: String] = { _ in [:] },
        log: (String) -> Void, keep: ([RunFile]) -> Void, cancellation: CancellationToken?,
        finish: (URL, UserCommand.Failure?) throws -> Output
    ) throws -> Output {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "conveyor-train-\(UUID().uuidString.prefix(8))", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let home = directory.appendingPathComponent(".home", isDirectory: true)
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        // Writable by the unprivileged user the command runs as, and by nobody else.
        for writable in [directory, home] { SandboxUser.own(writable) }
        let trainFile = directory.appendingPathComponent("train.csv")
        let testFile = directory.appendingPathComponent("test.csv")
        try train.csvText().write(to: trainFile, atomically: true, encoding: .utf8)
        try test.csvText().write(to: testFile, atomically: true, encoding: .utf8)
        for file in [trainFile, testFile] { _ = chmod(file.path, 0o644) }
        var variables = [
            "CONVEYOR_TRAIN_FILE": trainFile.path, "CONVEYOR_TEST_FILE": testFile.path,
            "CONVEYOR_TARGET": manifest.target, "CONVEYOR_TASK": manifest.task.rawValue,
            "CONVEYOR_FEATURES": manifest.features.map(\.name).joined(separator: ","),
            "CONVEYOR_OUTPUT_DIR": directory.path,
            // Caches a library writes under HOME (hidden paths) are not kept with the run.
            "HOME": home.path,
        ]
        variables.merge(extra(directory)) { _, added in added }
        var arguments = spec.command
        if let environment {
            let bin = environment.appendingPathComponent("bin")
            variables["PATH"] = "\(bin.path):/usr/local/bin:/usr/bin:/bin"
            variables["VIRTUAL_ENV"] = environment.path
            if ["python3", "python"].contains(arguments[0]) {
                arguments[0] = bin.appendingPathComponent("python3").path
            }
        }
        let timeout = spec.resolvedTimeout ?? .seconds(1200)
        log(
            "running \(spec.command.joined(separator: " ")) (timeout \(spec.timeout ?? "20m"), memory limit \(memoryLimit >> 20) MiB)"
        )
        let command = UserCommand(
            arguments: arguments, directory: repository, environment: variables, timeout: timeout,
            memoryLimit: memoryLimit, sandbox: sandbox, writable: [directory], readOnly: environment.map { [$0] } ?? [])
        var output = CommandLog()
        var failure: UserCommand.Failure?
        do {
            defer {
                output.finish(to: log)
                keep(RunFiles.collect(in: directory, excluding: Set(["train.csv", "test.csv"] + excluding), log: log))
            }
            // The command runs to completion inside this call: `log` does not outlive it.
            _ = try withoutActuallyEscaping(log) { log in
                try command.run(cancellation: cancellation) { output.append($1, stream: $0, to: log) }
            }
        } catch let error as UserCommand.Failure {
            failure = error
        }
        return try finish(directory, failure)
    }
}
