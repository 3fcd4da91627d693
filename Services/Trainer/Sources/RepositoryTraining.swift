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
struct RepositoryTraining {
    let repository: URL
    let spec: Manifest.TrainSpec
    /// The virtual environment built from `train.requirements`, if any: its
    /// `bin` leads PATH and `python3`/`python` name its interpreter.
    let environment: URL?
    /// Output kept in the run's log: the last lines, up to this many.
    static let loggedLines = 200
    /// Address-space limit for the command.
    static let memoryLimit = 8 << 30

    func run(
        manifest: Manifest, train: CSVTable, test: CSVTable, log: (String) -> Void, cancellation: CancellationToken?
    ) throws -> Data {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent(
            "conveyor-train-\(UUID().uuidString.prefix(8))", isDirectory: true)
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: output) }
        // Writable by the unprivileged user the command runs as.
        _ = chmod(output.path, 0o777)
        let trainFile = output.appendingPathComponent("train.csv")
        let testFile = output.appendingPathComponent("test.csv")
        try train.csvText().write(to: trainFile, atomically: true, encoding: .utf8)
        try test.csvText().write(to: testFile, atomically: true, encoding: .utf8)
        for file in [trainFile, testFile] { _ = chmod(file.path, 0o644) }
        var variables = [
            "CONVEYOR_TRAIN_FILE": trainFile.path, "CONVEYOR_TEST_FILE": testFile.path,
            "CONVEYOR_TARGET": manifest.target, "CONVEYOR_TASK": manifest.task.rawValue,
            "CONVEYOR_FEATURES": manifest.features.map(\.name).joined(separator: ","),
            "CONVEYOR_OUTPUT_DIR": output.path, "HOME": output.path,
        ]
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
        log("running \(spec.command.joined(separator: " ")) (timeout \(spec.timeout ?? "20m"))")
        let command = UserCommand(
            arguments: arguments, directory: repository, environment: variables, timeout: timeout,
            memoryLimit: Self.memoryLimit)
        let result: CommandResult
        do {
            result = try command.run(cancellation: cancellation)
        } catch let failure as UserCommand.Failure {
            throw TrainingFailure(stage: "command", reason: "\(spec.command.joined(separator: " ")) \(failure)")
        }
        let lines = (result.stdout + result.stderr).split(separator: "\n", omittingEmptySubsequences: false)
        if lines.count > Self.loggedLines {
            log("(the command wrote \(lines.count) lines; the last \(Self.loggedLines) follow)")
        }
        for line in lines.suffix(Self.loggedLines) where !line.isEmpty { log("| \(line)") }
        let file = output.appendingPathComponent(spec.resolvedOutput)
        guard let data = FileManager.default.contents(atPath: file.path), !data.isEmpty else {
            throw TrainingFailure(
                stage: "command",
                reason:
                    "train.output: the command did not write \(spec.resolvedOutput) into $CONVEYOR_OUTPUT_DIR")
        }
        let extras =
            (try? FileManager.default.contentsOfDirectory(atPath: output.path))?.filter {
                !["train.csv", "test.csv", spec.resolvedOutput].contains($0)
            } ?? []
        if !extras.isEmpty { log("the command also wrote: \(extras.sorted().joined(separator: ", "))") }
        return data
    }
}
