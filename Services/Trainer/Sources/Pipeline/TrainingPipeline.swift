import Foundation
import Learning
import Registry
import Subprocess

/// manifest → load → validate → train → evaluate → gate, on a checked-out
/// model repository. Pure computation plus file reads: no database, no
/// network, so `trainer train --repo PATH` runs exactly what the service runs.
public struct TrainingPipeline: Sendable {
    public let repository: URL
    /// Largest data file it will read (a memory guard), in bytes.
    public let maxDataBytes: Int

    /// Where `train.requirements` environments are cached.
    public let pythonEnvironments: URL
    /// The address-space limit of the repository's own training command, in bytes.
    public let commandMemoryLimit: Int
    /// Where the repository's own code runs.
    public let sandbox: Sandbox
    /// Where a Python model's files are kept until its artifact is written (the caller removes it).
    public let scratch: URL
    /// Data files fetched before the pipeline (by URL and hash, or from DVC), by their key in
    /// conveyor.yaml (`data.train`, …); the pipeline itself reads only local files.
    public let fetchedData: [String: URL]

    public init(
        repository: URL, maxDataBytes: Int = 1 << 30, pythonEnvironments: URL? = nil, commandMemoryLimit: Int = 8 << 30,
        sandbox: Sandbox = .automatic, scratch: URL? = nil, fetchedData: [String: URL] = [:]
    ) {
        self.repository = repository.standardizedFileURL.resolvingSymlinksInPath()
        self.fetchedData = fetchedData
        self.maxDataBytes = maxDataBytes
        self.commandMemoryLimit = commandMemoryLimit
        self.sandbox = sandbox
        self.scratch =
            scratch
            ?? FileManager.default.temporaryDirectory.appendingPathComponent(
                "conveyor-python-models-\(UUID().uuidString.prefix(8))", isDirectory: true)
        self.pythonEnvironments =
            pythonEnvironments
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("conveyor-python-environments")
    }

    /// The deployed model, to compare with on the new test data.
    public struct Baseline: Sendable {
        public let artifact: ModelArtifact?
        /// Its recorded metrics, used when it cannot score the new test data.
        public let recordedMetrics: [String: Double]
        /// Its version and its most recent logged instances, newest first, for the shadow replay.
        public let replay: (version: String, requests: [ShadowRequest])?

        public init(
            artifact: ModelArtifact?, recordedMetrics: [String: Double],
            replay: (version: String, requests: [ShadowRequest])? = nil
        ) {
            self.artifact = artifact
            self.recordedMetrics = recordedMetrics
            self.replay = replay
        }
    }

    /// Runs the pipeline; `log` receives a line per step (and the training
    /// command's output as it is written), `keep` the files the command
    /// wrote beside its model.
    /// `timings` gets each stage as it ends, so a caller keeps them when the run fails;
    /// `tests` the repository's test report, passed or not, before the run fails on it.
    public func run(
        version: String, baseline: Baseline?, log: (String) -> Void, keep: ([RunFile]) -> Void = { _ in },
        progress: TrainingProgress? = nil, cancellation: CancellationToken? = nil,
        timings: StageTimings = StageTimings(), tests: (RepositoryTestReport) -> Void = { _ in }
    ) throws -> TrainingOutcome {
        func timed<T>(_ stage: TrainingStage, _ body: () throws -> T) throws -> T {
            try Self.timed(stage, timings: timings, body)
        }

        let manifestURL = repository.appendingPathComponent("conveyor.yaml")
        let yaml = try timed(.manifest) { () throws -> String in
            guard let data = FileManager.default.contents(atPath: manifestURL.path) else {
                throw TrainingFailure(stage: .manifest, reason: "conveyor.yaml not found at the repository root")
            }
            return String(decoding: data, as: UTF8.self)
        }
        let manifest = try timed(.manifest) { try Manifest.parse(yaml) }
        log(
            "manifest: \(manifest.name), \(manifest.task.rawValue), \(manifest.model.algorithm), \(manifest.features.count) features"
        )

        let (trainTable, testTable, files) = try timed(.load) { try loadTables(manifest) }
        log("loaded \(trainTable.rowCount) training and \(testTable.rowCount) test rows")
        let fingerprint = DataFingerprint(files: files, rows: trainTable.rowCount + testTable.rowCount)
        if let spec = manifest.tests {
            let report = try runTests(
                spec, manifest: manifest, train: trainTable, test: testTable, log: log, keep: keep,
                cancellation: cancellation, timings: timings)
            tests(report)
            guard report.succeeded else { throw TrainingFailure(stage: .tests, reason: report.summary) }
            log(report.summary)
        }

        var onnx = try manifest.model.path.flatMap { path in
            manifest.model.isONNX ? try timed(.load) { try read(path, key: "model.path") } : nil
        }
        if let train = manifest.train, manifest.model.isONNX {
            let environment = try train.requirements.map { file in
                let requirements = try read(file, key: "train.requirements")
                return try timed(.environment) {
                    try PythonEnvironments(
                        root: pythonEnvironments, memoryLimit: commandMemoryLimit, sandbox: sandbox
                    ).environment(
                        requirements: requirements, timeout: train.resolvedTimeout ?? .seconds(1200), log: log,
                        cancellation: cancellation)
                }
            }
            onnx = try timed(.command) {
                try RepositoryTraining(
                    repository: repository, spec: train, environment: environment, memoryLimit: commandMemoryLimit,
                    sandbox: sandbox
                ).run(
                    manifest: manifest, train: trainTable, test: testTable, log: log, keep: keep,
                    cancellation: cancellation)
            }
        }
        let trained: TrainedModel
        var pythonWorker: PythonWorker?
        defer { pythonWorker?.stop() }
        if manifest.model.isMLflow {
            let result = try trainMLflow(
                manifest, train: trainTable, test: testTable, log: log, keep: keep, cancellation: cancellation,
                timings: timings)
            trained = result.model
            pythonWorker = result.worker
        } else if manifest.model.isPython {
            let result = try trainPython(
                manifest, train: trainTable, test: testTable, log: log, cancellation: cancellation, timings: timings)
            trained = result.model
            pythonWorker = result.worker
        } else {
            trained = try timed(.train) {
                try ModelTraining.train(
                    manifest: manifest, train: trainTable, test: testTable, log: log, progress: progress, onnx: onnx)
            }
        }
        log("trained \(manifest.model.algorithm); data sha256 \(fingerprint.sha256.prefix(12))…")
        let metrics = trained.artifact.metrics
        log(
            "metrics: "
                + metrics.sorted { $0.key < $1.key }.map { "\($0.key)=\(GateEvaluation.format($0.value))" }.joined(
                    separator: " "))

        let deployedMetrics = baseline.map { baseline -> [String: Double] in
            // "No regression" compares on the same test rows when the deployed model can read them.
            guard let artifact = baseline.artifact,
                let scored = try? ModelTraining.evaluate(
                    artifact, manifest: manifest, train: trainTable, test: testTable)
            else {
                log("deployed model compared by its recorded metrics (it cannot read this test data)")
                return baseline.recordedMetrics
            }
            log("deployed model \(artifact.version) scored on this test data")
            return scored
        }
        var artifact = trained.artifact
        artifact.version = version
        // The gates, and the shadow replay: the candidate answers the live model's recent real requests.
        let verdict = CandidateVerdict.evaluate(
            manifest: manifest, candidate: artifact, metrics: metrics, deployedMetrics: deployedMetrics,
            replay: baseline?.replay, timings: timings, log: log,
            answer: pythonWorker.map { worker in
                PythonModelTraining.answerer(
                    worker: worker, features: artifact.features, classes: artifact.classes,
                    timeout: manifest.model.resolvedTimeout ?? .seconds(1200))
            })
        return TrainingOutcome(
            manifest: manifest, manifestYAML: yaml, artifact: artifact, fingerprint: fingerprint,
            gates: verdict.gates, timings: timings.byName, shadow: verdict.shadow)
    }

    /// Measures `stage`, turning its errors into the run's failure reason (a data problem is a validation failure).
    private static func timed<T>(_ stage: TrainingStage, timings: StageTimings, _ body: () throws -> T) throws -> T {
        do {
            return try timings.measure(stage, body)
        } catch let failure as TrainingFailure {
            throw failure
        } catch let problem as DataProblem {
            throw TrainingFailure(stage: .validate, reason: problem.problem)
        } catch {
            throw TrainingFailure(stage: stage, reason: "\(error)")
        }
    }

    /// `model: {format: python}`: the environment (the requirements, pandas added), then
    /// the module's own training and Conveyor's evaluation through a worker.
    private func trainPython(
        _ manifest: Manifest, train: CSVTable, test: CSVTable, log: (String) -> Void,
        cancellation: CancellationToken?, timings: StageTimings
    ) throws -> (model: TrainedModel, worker: PythonWorker) {
        let spec = manifest.model
        let module = try read(spec.resolvedModule, key: "model.module")
        let requirements = try spec.requirements.map { try read($0, key: "model.requirements") } ?? Data()
        let environment = try Self.timed(.environment, timings: timings) {
            try PythonEnvironments(root: pythonEnvironments, memoryLimit: commandMemoryLimit, sandbox: sandbox)
                .environment(
                    requirements: PythonEnvironments.withPandas(requirements),
                    timeout: spec.resolvedTimeout ?? .seconds(1200), log: log, cancellation: cancellation)
        }
        let result = try Self.timed(.train, timings: timings) {
            try PythonModelTraining(
                repository: repository, spec: spec, environment: environment, memoryLimit: commandMemoryLimit,
                sandbox: sandbox, scratch: scratch
            ).run(manifest: manifest, train: train, test: test, module: module, log: log, cancellation: cancellation)
        }
        // A replica on this host asking for the frozen requirements gets this environment at once.
        if case .python(let model) = result.model.artifact.predictor, !model.requirements.isEmpty {
            try? PythonEnvironments(root: pythonEnvironments, sandbox: sandbox).link(
                requirements: Data(model.requirementsText.utf8), to: environment)
        }
        return result
    }

    /// `model: {format: mlflow}`: the MLflow model directory (committed, or written by `train:`),
    /// its signature checked, its own environment, and Conveyor's evaluation through a worker.
    private func trainMLflow(
        _ manifest: Manifest, train: CSVTable, test: CSVTable, log: (String) -> Void, keep: ([RunFile]) -> Void,
        cancellation: CancellationToken?, timings: StageTimings
    ) throws -> (model: TrainedModel, worker: PythonWorker) {
        let timeout = manifest.train?.resolvedTimeout ?? .seconds(1200)
        let files: [(name: String, data: Data)]
        if let spec = manifest.train {
            let environment = try spec.requirements.map { file in
                let requirements = try read(file, key: "train.requirements")
                return try Self.timed(.environment, timings: timings) {
                    try PythonEnvironments(root: pythonEnvironments, memoryLimit: commandMemoryLimit, sandbox: sandbox)
                        .environment(requirements: requirements, timeout: timeout, log: log, cancellation: cancellation)
                }
            }
            let output = spec.resolvedMLflowOutput
            files = try Self.timed(.command, timings: timings) {
                try RepositoryTraining(
                    repository: repository, spec: spec, environment: environment, memoryLimit: commandMemoryLimit,
                    sandbox: sandbox
                ).run(
                    manifest: manifest, train: train, test: test, writes: output, log: log, keep: keep,
                    cancellation: cancellation
                ) { directory in
                    try MLflowModelTraining.files(
                        in: directory.appendingPathComponent(output), key: "train.output \(output)")
                }
            }
        } else {
            let path = manifest.model.path ?? ""
            let directory = repository.appendingPathComponent(path).standardizedFileURL.resolvingSymlinksInPath()
            guard directory.path.hasPrefix(repository.path + "/") else {
                throw TrainingFailure(stage: .load, reason: "model.path: \"\(path)\" is outside the repository")
            }
            files = try Self.timed(.load, timings: timings) {
                try MLflowModelTraining.files(in: directory, key: "model.path")
            }
        }
        return try Self.timed(.train, timings: timings) {
            try MLflowModelTraining(
                environments: PythonEnvironments(
                    root: pythonEnvironments, memoryLimit: commandMemoryLimit, sandbox: sandbox),
                memoryLimit: commandMemoryLimit, sandbox: sandbox, scratch: scratch, timeout: timeout
            ).run(
                manifest: manifest, files: files, train: train, test: test, log: log, cancellation: cancellation)
        }
    }

    /// `tests:`: the environment of its requirements (or the model's, or `train:`'s), then the command.
    private func runTests(
        _ spec: Manifest.TestsSpec, manifest: Manifest, train: CSVTable, test: CSVTable, log: (String) -> Void,
        keep: ([RunFile]) -> Void, cancellation: CancellationToken?, timings: StageTimings
    ) throws -> RepositoryTestReport {
        let requirementsFile: (file: String, key: String)? =
            spec.requirements.map { ($0, "tests.requirements") }
            ?? manifest.model.requirements.map { ($0, "model.requirements") }
            ?? manifest.train?.requirements.map { ($0, "train.requirements") }
        let timeout = spec.resolvedTimeout ?? .seconds(600)
        let environment = try requirementsFile.map { file in
            let requirements = try read(file.file, key: file.key)
            return try Self.timed(.environment, timings: timings) {
                try PythonEnvironments(root: pythonEnvironments, memoryLimit: commandMemoryLimit, sandbox: sandbox)
                    .environment(requirements: requirements, timeout: timeout, log: log, cancellation: cancellation)
            }
        }
        return try Self.timed(.tests, timings: timings) {
            try RepositoryTests(
                repository: repository, spec: spec, environment: environment, memoryLimit: commandMemoryLimit,
                sandbox: sandbox
            ).run(manifest: manifest, train: train, test: test, log: log, keep: keep, cancellation: cancellation)
        }
    }

    private func loadTables(_ manifest: Manifest) throws -> (CSVTable, CSVTable, [Data]) {
        if let train = manifest.data.train, let test = manifest.data.test {
            let trainData = try read(train, key: "data.train")
            let testData = try read(test, key: "data.test")
            return (
                try parse(trainData, name: train.name), try parse(testData, name: test.name), [trainData, testData]
            )
        }
        guard let file = manifest.data.path, let fraction = manifest.data.split?.testFraction else {
            throw TrainingFailure(stage: .load, reason: "data: give train and test, or path and split")
        }
        let data = try read(file, key: "data.path")
        let path = file.name
        let table = try parse(data, name: path)
        let testCount = Int((Double(table.rowCount) * fraction).rounded())
        guard testCount >= 1, testCount < table.rowCount else {
            throw TrainingFailure(stage: .load, reason: "\(path) has \(table.rowCount) rows: too few to split")
        }
        let cut = table.rowCount - testCount
        return (table.slice(0..<cut), table.slice(cut..<table.rowCount), [data])
    }

    /// Reads a data file: the one fetched for `key`, else its path in the repository.
    private func read(_ file: Manifest.DataFile, key: String) throws -> Data {
        if let fetched = fetchedData[key] {
            let size = (try? FileManager.default.attributesOfItem(atPath: fetched.path)[.size] as? Int) ?? nil
            if let size, size > maxDataBytes {
                throw TrainingFailure(
                    stage: .load,
                    reason: "\(key): \(file.name) is \(size) bytes, over the limit of \(maxDataBytes) (MAX_DATA_BYTES)")
            }
            guard let data = FileManager.default.contents(atPath: fetched.path) else {
                throw TrainingFailure(stage: .load, reason: "\(key): the fetched \(file.name) is gone")
            }
            return data
        }
        guard let path = file.path else {
            throw TrainingFailure(
                stage: .load,
                reason:
                    "\(key): \(file.name) is fetched by the trainer service; this pipeline reads the repository only")
        }
        if !FileManager.default.fileExists(atPath: repository.appendingPathComponent(path).path),
            FileManager.default.fileExists(atPath: repository.appendingPathComponent(path + ".dvc").path)
        {
            throw TrainingFailure(
                stage: .load,
                reason:
                    "\(key): \(path) is tracked by DVC (\(path).dvc); the trainer service fetches it from the remote")
        }
        return try read(path, key: key)
    }

    /// Reads a file, refusing paths that leave the repository.
    private func read(_ relativePath: String, key: String) throws -> Data {
        let url = repository.appendingPathComponent(relativePath).standardizedFileURL.resolvingSymlinksInPath()
        guard url.path.hasPrefix(repository.path + "/") else {
            throw TrainingFailure(stage: .load, reason: "\(key): \"\(relativePath)\" is outside the repository")
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? nil
        if let size, size > maxDataBytes {
            throw TrainingFailure(
                stage: .load,
                reason:
                    "\(key): \"\(relativePath)\" is \(size) bytes, over the limit of \(maxDataBytes) (MAX_DATA_BYTES)")
        }
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw TrainingFailure(stage: .load, reason: "\(key): \"\(relativePath)\" does not exist")
        }
        return data
    }

    private func parse(_ data: Data, name: String) throws -> CSVTable {
        do {
            return try CSVTable(bytes: Array(data))
        } catch let error as CSVTable.ParseError {
            throw TrainingFailure(stage: .load, reason: "\(name) \(error)")
        }
    }
}
