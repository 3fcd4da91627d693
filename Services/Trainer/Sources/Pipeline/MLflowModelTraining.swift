import Foundation
import Learning
import Subprocess
import Yams

/// `model: {format: mlflow}`: an MLflow model directory as MLflow saved it,
/// committed in the repository (`model.path`) or written by its `train:`
/// command. Its signature is checked against the manifest's features, its
/// environment is built from its own `requirements.txt` (or
/// `python_env.yaml`), and Conveyor evaluates it through a worker that loads
/// it with `mlflow.pyfunc.load_model`, exactly as serving will. Its files
/// become the artifact's `mlflow.<name>` files.
struct MLflowModelTraining {
    let environments: PythonEnvironments
    let memoryLimit: Int
    let sandbox: Sandbox
    /// A directory of the trainer's own that outlives the run's pipeline (the model's files go here).
    let scratch: URL
    let timeout: Duration

    /// The largest file of a model directory accepted.
    static let maxFileBytes = 2 << 30

    /// The files of the model directory at `directory`, read without following links; a
    /// subdirectory, a link or a special file fails the run naming it.
    static func files(in directory: URL, key: String) throws -> [(name: String, data: Data)] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue
        else {
            throw TrainingFailure(stage: .load, reason: "\(key): \(directory.lastPathComponent) is not a directory")
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        return try names.map { name in
            switch OutputFile.read(name, in: directory, limit: maxFileBytes) {
            case .success(let data): return (name, data)
            case .failure(let refusal):
                throw TrainingFailure(
                    stage: .load,
                    reason: "\(key): \(name) \(refusal) (an MLflow model directory must hold only regular files)")
            }
        }
    }

    func run(
        manifest: Manifest, files: [(name: String, data: Data)], train: CSVTable, test: CSVTable,
        log: (String) -> Void, cancellation: CancellationToken?
    ) throws -> (model: TrainedModel, worker: PythonWorker) {
        let byName = Dictionary(files.map { ($0.name, $0.data) }, uniquingKeysWith: { first, _ in first })
        guard let mlmodel = byName["MLmodel"] else {
            throw TrainingFailure(stage: .load, reason: "the MLflow model directory has no MLmodel file")
        }
        if let inputs = try MLflowModel.signature(mlmodel: String(decoding: mlmodel, as: UTF8.self)) {
            try MLflowModel.check(inputs, features: manifest.features)
            log("the MLflow model's signature matches the features (\(inputs.count) inputs)")
        } else {
            log("the MLflow model has no column signature: its inputs are not checked against the features")
        }
        let environment = try environments.environment(
            requirements: PythonEnvironments.withPandas(try Self.requirements(byName)), timeout: timeout, log: log,
            cancellation: cancellation)
        let directory = scratch.appendingPathComponent("mlflow-\(UUID().uuidString.prefix(8))", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        _ = chmod(scratch.path, 0o755)
        _ = chmod(directory.path, 0o755)
        let kept =
            files.map { (MLflowModel.prefix + $0.name, $0.data) } + [
                ("spec.json", PythonModelEvaluation.spec(manifest)),
                ("environment.json", try describe(environment, cancellation: cancellation)),
            ]
        for (name, data) in kept {
            try data.write(to: directory.appendingPathComponent(name))
            _ = chmod(directory.appendingPathComponent(name).path, 0o644)
        }
        let described =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: directory.appendingPathComponent("environment.json"))) as? [String: Any]
        let names = files.map { MLflowModel.prefix + $0.name }
        let model = PythonModel(
            module: "", pickleSHA256: try MLflowModel.digest(of: directory, names: names),
            python: described?["python"] as? String ?? "", requirements: described?["freeze"] as? [String] ?? [],
            reportedMetrics: [:], example: nil, directory: directory, mlflowFiles: names)
        log("loading the MLflow model with mlflow.pyfunc.load_model to evaluate it")
        return try PythonModelTraining.evaluate(
            model, environment: environment, sandbox: sandbox, memoryLimit: memoryLimit, timeout: timeout,
            manifest: manifest, train: train, test: test, log: log)
    }

    /// The model's own requirements: `requirements.txt`, else `python_env.yaml`'s `dependencies`.
    static func requirements(_ files: [String: Data]) throws -> Data {
        if let requirements = files["requirements.txt"] { return requirements }
        if let text = files["python_env.yaml"].map({ String(decoding: $0, as: UTF8.self) }),
            let document = try? Yams.load(yaml: text) as? [String: Any],
            let dependencies = document["dependencies"] as? [String]
        {
            return Data(dependencies.map { $0 + "\n" }.joined().utf8)
        }
        throw TrainingFailure(
            stage: .environment,
            reason: "the MLflow model directory has neither requirements.txt nor python_env.yaml dependencies")
    }

    /// `environment.json` for the environment: its interpreter's version and its `pip freeze`.
    private func describe(_ environment: URL, cancellation: CancellationToken?) throws -> Data {
        let python = environment.appendingPathComponent("bin/python3").path
        let script =
            "import json, subprocess, sys; print(json.dumps({'python': sys.version, 'freeze': "
            + "subprocess.run([sys.executable, '-m', 'pip', 'freeze'], capture_output=True, text=True).stdout.split()}))"
        let result = try UserCommand(
            arguments: [python, "-c", script], directory: environment,
            environment: ["HOME": "/tmp", "PIP_DISABLE_PIP_VERSION_CHECK": "1"], timeout: .seconds(120),
            memoryLimit: memoryLimit, sandbox: sandbox, readOnly: [environment]
        ).run(cancellation: cancellation)
        return Data(result.stdout.utf8)
    }
}
