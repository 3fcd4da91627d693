import Crypto
import Foundation
import JSON
import Learning
import Subprocess

/// `model: {format: python}`: the repository's own module trains the model
/// (`conveyor_worker.py train`, run as untrusted code in the sandbox like a
/// `train:` command: scrubbed environment, `nobody` when root, killed with its
/// process group on timeout or cancel, output capped, `RLIMIT_AS`), then
/// Conveyor evaluates it itself through a worker started exactly as serving
/// starts one. What the command wrote is read without trusting it
/// (`OutputFile`) into a directory of the trainer's own, which becomes the
/// artifact's Python files.
struct PythonModelTraining {
    let repository: URL
    let spec: Manifest.ModelSpec
    /// The environment built from the requirements (pandas added).
    let environment: URL
    /// Address-space limit of the module's code, in bytes.
    let memoryLimit: Int
    let sandbox: Sandbox
    /// A directory of the trainer's own that outlives the run's pipeline (the model's files go here).
    let scratch: URL

    /// The largest pickle accepted.
    static let maxPickleBytes = 2 << 30
    /// The largest of the small JSON files the worker writes.
    static let maxDescriptionBytes = 4 << 20

    /// Trains and evaluates; the worker stays up for the shadow replay (the caller stops it).
    func run(
        manifest: Manifest, train: CSVTable, test: CSVTable, module: Data, log: (String) -> Void,
        cancellation: CancellationToken?
    ) throws -> (model: TrainedModel, worker: PythonWorker) {
        let timeout = spec.resolvedTimeout ?? .seconds(1200)
        let work = FileManager.default.temporaryDirectory.appendingPathComponent(
            "conveyor-python-train-\(UUID().uuidString.prefix(8))", isDirectory: true)
        let output = work.appendingPathComponent("output", isDirectory: true)
        let home = work.appendingPathComponent(".home", isDirectory: true)
        for directory in [work, output, home] {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        }
        defer { try? FileManager.default.removeItem(at: work) }
        for writable in [output, home] { SandboxUser.own(writable) }
        _ = chmod(work.path, 0o755)
        let files = [
            ("train.csv", Data(train.csvText().utf8)), ("test.csv", Data(test.csvText().utf8)),
            ("spec.json", PythonModelEvaluation.spec(manifest)),
        ]
        for (name, data) in files {
            try data.write(to: work.appendingPathComponent(name))
            _ = chmod(work.appendingPathComponent(name).path, 0o644)
        }
        let script = try PythonWorkerScript.url
        let python = environment.appendingPathComponent("bin/python3").path
        let modulePath = repository.appendingPathComponent(spec.resolvedModule).path
        let command = UserCommand(
            arguments: [
                python, script.path, "train", "--module", modulePath, "--train",
                work.appendingPathComponent("train.csv").path,
                "--test", work.appendingPathComponent("test.csv").path, "--spec",
                work.appendingPathComponent("spec.json").path, "--output", output.path,
            ],
            directory: repository,
            environment: [
                "HOME": home.path, "PATH": "\(environment.path)/bin:/usr/local/bin:/usr/bin:/bin",
                "VIRTUAL_ENV": environment.path, "PYTHONDONTWRITEBYTECODE": "1",
            ],
            timeout: timeout, memoryLimit: memoryLimit, sandbox: sandbox, writable: [output, home],
            readOnly: [work, environment, script.deletingLastPathComponent()])
        log(
            "training \(spec.resolvedModule) (timeout \(spec.timeout ?? "20m"), memory limit \(memoryLimit >> 20) MiB)")
        var commandLog = CommandLog()
        // The worker's error line comes last on stderr, whatever the module printed before it.
        var errorTail: [UInt8] = []
        do {
            defer { commandLog.finish(to: log) }
            _ = try withoutActuallyEscaping(log) { log in
                try command.run(cancellation: cancellation) { stream, bytes in
                    commandLog.append(bytes, stream: stream, to: log)
                    if stream == 1 {
                        errorTail += bytes
                        if errorTail.count > 65536 { errorTail.removeFirst(errorTail.count - 65536) }
                    }
                }
            }
        } catch let failure as UserCommand.Failure {
            throw TrainingFailure(
                stage: .train,
                reason: Self.reason(
                    failure, stderr: String(decoding: errorTail, as: UTF8.self), module: spec.resolvedModule))
        }
        let model = try collect(from: output, module: module)
        log("pickled the model (\(model.pickleBytes) bytes, sha256 \(model.python.pickleSHA256.prefix(12))…)")
        return try Self.evaluate(
            model.python, environment: environment, sandbox: sandbox, memoryLimit: memoryLimit, timeout: timeout,
            manifest: manifest, train: train, test: test, log: log)
    }

    /// Starts a worker on `model` exactly as serving does and scores it on the test split;
    /// the worker stays up for the shadow replay (the caller stops it).
    static func evaluate(
        _ model: PythonModel, environment: URL, sandbox: Sandbox, memoryLimit: Int, timeout: Duration,
        manifest: Manifest, train: CSVTable, test: CSVTable, log: (String) -> Void
    ) throws -> (model: TrainedModel, worker: PythonWorker) {
        guard let directory = model.directory else {
            throw TrainingFailure(stage: .train, reason: "the model's files are not on disk")
        }
        let worker: PythonWorker
        do {
            worker = try PythonWorker(
                PythonWorker.Launch(
                    environment: environment, model: model, directory: directory, sandbox: sandbox,
                    memoryLimit: memoryLimit, loadTimeout: timeout),
                onStderr: { _ in })
        } catch {
            throw TrainingFailure(stage: .train, reason: "the trained model does not load: \(error)")
        }
        do {
            let trained = try PythonModelEvaluation.evaluate(
                manifest: manifest, train: train, test: test, worker: worker, model: model, timeout: timeout,
                log: log)
            return (trained, worker)
        } catch let error as PythonWorkerError {
            worker.stop()
            throw TrainingFailure(stage: .train, reason: "evaluating on the test data: \(error)")
        } catch {
            worker.stop()
            throw error
        }
    }

    /// The shadow replay's answers from the candidate's worker, a batch at a time.
    static func answerer(worker: PythonWorker, features: [FeatureSpec], classes: [String]?, timeout: Duration)
        -> ShadowReplay.Answerer
    {
        { requests in
            var outputs: [ModelArtifact.Output] = []
            for start in stride(from: 0, to: requests.count, by: 2000) {
                let batch = requests[start..<min(requests.count, start + 2000)]
                let rows = batch.map { request in
                    "["
                        + features.map { (request.values[$0.name] ?? .missing).canonicalJSON(type: $0.type) }
                        .joined(separator: ",") + "]"
                }
                let answer = try worker.predict(
                    columns: features.map(\.name), rows: "[" + rows.joined(separator: ",") + "]", classes: classes,
                    timeout: timeout)
                let rowsOut = try PythonModelEvaluation.outputs(
                    answer, classes: classes, rows: batch.count, firstRow: start)
                for (index, row) in rowsOut.enumerated() {
                    if let classes {
                        outputs.append(.label(answer.labels[index], probabilities: row))
                        _ = classes
                    } else {
                        outputs.append(.value(row[0]))
                    }
                }
            }
            return outputs
        }
    }

    /// The model's files, read from the command's output without trusting it, in a directory of ours.
    private func collect(from output: URL, module: Data) throws -> (
        python: PythonModel, directory: URL, pickleBytes: Int
    ) {
        let directory = scratch.appendingPathComponent("model-\(UUID().uuidString.prefix(8))", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        _ = chmod(scratch.path, 0o755)
        _ = chmod(directory.path, 0o755)
        var pickle = Data()
        for name in PythonModel.files {
            let limit = name == PythonModel.pickleFile ? Self.maxPickleBytes : Self.maxDescriptionBytes
            switch OutputFile.read(name, in: output, limit: limit) {
            case .success(let data):
                if name == PythonModel.pickleFile { pickle = data }
                try data.write(to: directory.appendingPathComponent(name))
            case .failure(let refusal):
                if name == PythonModel.pickleFile || name == "spec.json" {
                    throw TrainingFailure(stage: .train, reason: "\(name) \(refusal)")
                }
            }
        }
        let moduleName = URL(fileURLWithPath: spec.resolvedModule).lastPathComponent
        try module.write(to: directory.appendingPathComponent(moduleName))
        for name in PythonModel.files + [moduleName] {
            _ = chmod(directory.appendingPathComponent(name).path, 0o644)
        }
        let environment = directory.appendingPathComponent("environment.json")
        let described = FileManager.default.contents(atPath: environment.path).flatMap { try? JSONValue.parse($0) }
        let reported =
            FileManager.default.contents(atPath: directory.appendingPathComponent("reported_metrics.json").path)
            .flatMap { try? JSONValue.parse($0) }?.objectValue?.compactMapValues(\.doubleValue) ?? [:]
        let model = PythonModel(
            module: moduleName, pickleSHA256: SHA256.hash(data: pickle).map { String(format: "%02x", $0) }.joined(),
            python: described?["python"]?.stringValue ?? "",
            requirements: (described?["freeze"]?.arrayValue ?? [])
                .compactMap(\.stringValue),
            reportedMetrics: reported, example: nil, directory: directory)
        return (model, directory, pickle.count)
    }

    /// The run's reason for a failed training command: the worker's own error line when it wrote one.
    static func reason(_ failure: UserCommand.Failure, stderr: String, module: String) -> String {
        guard case .exited = failure,
            let line = stderr.split(separator: "\n").last,
            let error = (try? JSONValue.parse(Array(line.utf8)))?["error"]?.objectValue
        else { return "\(module): \(failure)" }
        let function = error["function"]?.stringValue
        let what = "\(error["type"]?.stringValue ?? "Error"): \(error["message"]?.stringValue ?? "")"
        let traceback = error["traceback"]?.stringValue.map { $0.isEmpty ? "" : "\n\($0.suffix(1500))" } ?? ""
        return "\(module)\(function.map { " \($0)" } ?? ""): \(what)\(traceback)"
    }
}
