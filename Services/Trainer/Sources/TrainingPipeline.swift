import Foundation
import Learning

/// A failed or rejected run's reason, shown in `GET /runs/{id}`.
public struct TrainingFailure: Error, CustomStringConvertible, Sendable {
    public let stage: String
    public let reason: String
    public var description: String { "\(stage): \(reason)" }
}

/// Everything a finished training pipeline produced.
public struct TrainingOutcome: Sendable {
    public let manifest: Manifest
    public let manifestYAML: String
    public let artifact: ModelArtifact
    public let fingerprint: DataFingerprint
    public let gates: [GateResult]
    public let timings: [String: Double]
    public var passed: Bool { gates.allSatisfy(\.passed) }
}

/// manifest → load → validate → train → evaluate → gate, on a checked-out
/// model repository. Pure computation plus file reads: no database, no
/// network, so `trainer train --repo PATH` runs exactly what the service runs.
public struct TrainingPipeline: Sendable {
    public let repository: URL
    /// Largest data file it will read (a memory guard), in bytes.
    public let maxDataBytes: Int

    public init(repository: URL, maxDataBytes: Int = 1 << 30) {
        self.repository = repository.standardizedFileURL.resolvingSymlinksInPath()
        self.maxDataBytes = maxDataBytes
    }

    /// The deployed model, to compare with on the new test data.
    public struct Baseline: Sendable {
        public let artifact: ModelArtifact?
        /// Its recorded metrics, used when it cannot score the new test data.
        public let recordedMetrics: [String: Double]

        public init(artifact: ModelArtifact?, recordedMetrics: [String: Double]) {
            self.artifact = artifact
            self.recordedMetrics = recordedMetrics
        }
    }

    /// Runs the pipeline; `log` receives a line per step.
    public func run(version: String, baseline: Baseline?, log: (String) -> Void) throws -> TrainingOutcome {
        var timings: [String: Double] = [:]
        func timed<T>(_ stage: String, _ body: () throws -> T) throws -> T {
            let start = Date()
            defer { timings[stage] = Date().timeIntervalSince(start) }
            do {
                return try body()
            } catch let failure as TrainingFailure {
                throw failure
            } catch {
                throw TrainingFailure(stage: stage, reason: "\(error)")
            }
        }

        let manifestURL = repository.appendingPathComponent("conveyor.yaml")
        let yaml = try timed("manifest") { () throws -> String in
            guard let data = FileManager.default.contents(atPath: manifestURL.path) else {
                throw TrainingFailure(stage: "manifest", reason: "conveyor.yaml not found at the repository root")
            }
            return String(decoding: data, as: UTF8.self)
        }
        let manifest = try timed("manifest") { try Manifest.parse(yaml) }
        log(
            "manifest: \(manifest.name), \(manifest.task.rawValue), \(manifest.model.algorithm), \(manifest.features.count) features"
        )

        let (trainTable, testTable, files) = try timed("load") { try loadTables(manifest) }
        log("loaded \(trainTable.rows.count) training and \(testTable.rows.count) test rows")

        let builder = DatasetBuilder(manifest: manifest)
        let (features, train, test) = try timed("validate") {
            let features = try builder.resolvedFeatures(from: trainTable, file: "train")
            return (
                features, try builder.build(trainTable, file: "train data", features: features),
                try builder.build(testTable, file: "test data", features: features)
            )
        }
        if Set(train.target).count < 2 {
            throw TrainingFailure(stage: "validate", reason: "target \"\(manifest.target)\" has a single value")
        }
        let fingerprint = DataFingerprint(files: files, rows: train.count + test.count)
        log("validated; data sha256 \(fingerprint.sha256.prefix(12))…, \(fingerprint.rows) rows")

        let model = try timed("train") { LinearModel.fit(train, l2: manifest.model.params?["l2"] ?? 0) }
        let metrics = try timed("evaluate") { RegressionMetrics.all(test.target, test.features.map(model.predict)) }
        log(
            "metrics: "
                + metrics.sorted { $0.key < $1.key }.map { "\($0.key)=\(GateEvaluation.format($0.value))" }.joined(
                    separator: " "))

        let deployedMetrics = baseline.map { baseline -> [String: Double] in
            // "No regression" compares on the same test rows when the deployed model can read them.
            guard let artifact = baseline.artifact,
                let data = try? DatasetBuilder(manifest: manifest).build(
                    testTable, file: "test data", features: artifact.features)
            else {
                log("deployed model compared by its recorded metrics (it cannot read this test data)")
                return baseline.recordedMetrics
            }
            log("deployed model \(artifact.version) scored on this test data")
            return RegressionMetrics.all(data.target, data.features.map { artifact.predict(encoded: $0) })
        }
        let gates = GateEvaluation.evaluate(manifest: manifest, metrics: metrics, deployedMetrics: deployedMetrics)
        for gate in gates { log("gate \(gate.gate): \(gate.passed ? "pass" : "FAIL") — \(gate.detail)") }

        var reference: [String: FeatureStatistics] = [:]
        var column = 0
        for feature in features {
            if feature.type == .numeric {
                reference[feature.name] = FeatureStatistics(values: train.features.map { $0[column] })
            }
            column += feature.type == .categorical ? feature.categories?.count ?? 0 : 1
        }
        let artifact = ModelArtifact(
            name: manifest.name, version: version, task: manifest.task, algorithm: manifest.model.algorithm,
            target: manifest.target, features: features, linear: model, metrics: metrics, reference: reference,
            trainedAt: Date())
        return TrainingOutcome(
            manifest: manifest, manifestYAML: yaml, artifact: artifact, fingerprint: fingerprint, gates: gates,
            timings: timings)
    }

    private func loadTables(_ manifest: Manifest) throws -> (CSVTable, CSVTable, [Data]) {
        if let train = manifest.data.train, let test = manifest.data.test {
            let trainData = try read(train, key: "data.train")
            let testData = try read(test, key: "data.test")
            return (
                try parse(trainData, name: train), try parse(testData, name: test), [trainData, testData]
            )
        }
        guard let path = manifest.data.path, let fraction = manifest.data.split?.testFraction else {
            throw TrainingFailure(stage: "load", reason: "data: give train and test, or path and split")
        }
        let data = try read(path, key: "data.path")
        let table = try parse(data, name: path)
        let testCount = Int((Double(table.rows.count) * fraction).rounded())
        guard testCount >= 1, testCount < table.rows.count else {
            throw TrainingFailure(stage: "load", reason: "\(path) has \(table.rows.count) rows: too few to split")
        }
        let cut = table.rows.count - testCount
        return (
            CSVTable(header: table.header, rows: Array(table.rows[..<cut])),
            CSVTable(header: table.header, rows: Array(table.rows[cut...])), [data]
        )
    }

    /// Reads a data file, refusing paths that leave the repository.
    private func read(_ relativePath: String, key: String) throws -> Data {
        let url = repository.appendingPathComponent(relativePath).standardizedFileURL.resolvingSymlinksInPath()
        guard url.path.hasPrefix(repository.path + "/") else {
            throw TrainingFailure(stage: "load", reason: "\(key): \"\(relativePath)\" is outside the repository")
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? nil
        if let size, size > maxDataBytes {
            throw TrainingFailure(
                stage: "load",
                reason:
                    "\(key): \"\(relativePath)\" is \(size) bytes, over the limit of \(maxDataBytes) (MAX_DATA_BYTES)")
        }
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw TrainingFailure(stage: "load", reason: "\(key): \"\(relativePath)\" does not exist")
        }
        return data
    }

    private func parse(_ data: Data, name: String) throws -> CSVTable {
        do {
            return try CSVTable(bytes: Array(data))
        } catch let error as CSVTable.ParseError {
            throw TrainingFailure(stage: "load", reason: "\(name) \(error)")
        }
    }
}
