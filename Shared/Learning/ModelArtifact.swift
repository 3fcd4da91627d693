import Crypto
import Foundation

/// A trained model as stored in `model.json` (plus `trees.bin` for tree
/// ensembles) inside an artifact directory. Self-describing: it carries its
/// feature schema, classes, metrics and reference statistics, so `serving`
/// needs nothing else to validate and predict. The README documents the format.
public struct ModelArtifact: Codable, Sendable, Equatable {
    public static let format = "conveyor-model"
    public static let currentFormatVersion = 2

    public var format: String = ModelArtifact.format
    public var formatVersion: Int = ModelArtifact.currentFormatVersion
    public var name: String
    public var version: String
    public var task: Manifest.Task
    public var algorithm: String
    public var params: [String: Double]
    public var target: String
    public var features: [FeatureSpec]
    /// Class names, in the order of the probabilities (classification only).
    public var classes: [String]?
    public var predictor: Predictor
    /// The series state a forecast continues from (forecast only).
    public var forecast: ForecastModel?
    public var metrics: [String: Double]
    /// `confusionMatrix[true][predicted]` on the test set (classification only).
    public var confusionMatrix: [[Int]]?
    public var reference: [String: FeatureStatistics]
    /// The model's predictions on the test split (values, or predicted labels'
    /// counts), for prediction drift; nil in artifacts trained before monitoring.
    public var predictionReference: FeatureStatistics?
    /// The target in the training data, for label drift once ground truth arrives.
    public var targetReference: FeatureStatistics?
    public var trainedAt: Date

    enum CodingKeys: String, CodingKey {
        case format
        case formatVersion = "format_version"
        case name, version, task, algorithm, params, target, features, classes, forecast, metrics, reference
        case predictor = "model"
        case confusionMatrix = "confusion_matrix"
        case trainedAt = "trained_at"
        case predictionReference = "prediction_reference"
        case targetReference = "target_reference"
        case legacyLinear = "linear"
    }

    public init(
        name: String, version: String, task: Manifest.Task, algorithm: String, params: [String: Double] = [:],
        target: String, features: [FeatureSpec], classes: [String]? = nil, predictor: Predictor,
        forecast: ForecastModel? = nil, metrics: [String: Double], confusionMatrix: [[Int]]? = nil,
        reference: [String: FeatureStatistics], predictionReference: FeatureStatistics? = nil,
        targetReference: FeatureStatistics? = nil, trainedAt: Date
    ) {
        self.name = name
        self.version = version
        self.task = task
        self.algorithm = algorithm
        self.params = params
        self.target = target
        self.features = features
        self.classes = classes
        self.predictor = predictor
        self.forecast = forecast
        self.metrics = metrics
        self.confusionMatrix = confusionMatrix
        self.reference = reference
        self.predictionReference = predictionReference
        self.targetReference = targetReference
        self.trainedAt = trainedAt
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        format = try container.decode(String.self, forKey: .format)
        formatVersion = try container.decode(Int.self, forKey: .formatVersion)
        name = try container.decode(String.self, forKey: .name)
        version = try container.decode(String.self, forKey: .version)
        task = try container.decode(Manifest.Task.self, forKey: .task)
        algorithm = try container.decode(String.self, forKey: .algorithm)
        params = try container.decodeIfPresent([String: Double].self, forKey: .params) ?? [:]
        target = try container.decode(String.self, forKey: .target)
        features = try container.decode([FeatureSpec].self, forKey: .features)
        classes = try container.decodeIfPresent([String].self, forKey: .classes)
        if formatVersion == 1 {
            predictor = .linear(try container.decode(LinearModel.self, forKey: .legacyLinear))
        } else {
            let description = try container.decode(PredictorDescription.self, forKey: .predictor)
            if description.kind == PredictorDescription.onnxKind {
                // The graph is in the artifact directory beside model.json.
                guard let directory = decoder.userInfo[ArtifactStore.directoryKey] as? URL else {
                    throw ArtifactStore.LoadError(
                        problem: "model.json: an onnx model loads from its artifact directory")
                }
                let data = try Data(
                    contentsOf: directory.appendingPathComponent(description.file ?? PredictorDescription.onnxFile))
                predictor = .onnx(try ONNXPredictor(data: data, features: features, classes: classes))
            } else {
                predictor = try description.predictor
            }
        }
        forecast = try container.decodeIfPresent(ForecastModel.self, forKey: .forecast)
        metrics = try container.decode([String: Double].self, forKey: .metrics)
        confusionMatrix = try container.decodeIfPresent([[Int]].self, forKey: .confusionMatrix)
        reference = try container.decode([String: FeatureStatistics].self, forKey: .reference)
        predictionReference = try container.decodeIfPresent(FeatureStatistics.self, forKey: .predictionReference)
        targetReference = try container.decodeIfPresent(FeatureStatistics.self, forKey: .targetReference)
        trainedAt = try container.decode(Date.self, forKey: .trainedAt)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(format, forKey: .format)
        try container.encode(Self.currentFormatVersion, forKey: .formatVersion)
        try container.encode(name, forKey: .name)
        try container.encode(version, forKey: .version)
        try container.encode(task, forKey: .task)
        try container.encode(algorithm, forKey: .algorithm)
        try container.encode(params, forKey: .params)
        try container.encode(target, forKey: .target)
        try container.encode(features, forKey: .features)
        try container.encodeIfPresent(classes, forKey: .classes)
        try container.encode(PredictorDescription(predictor), forKey: .predictor)
        try container.encodeIfPresent(forecast, forKey: .forecast)
        try container.encode(metrics, forKey: .metrics)
        try container.encodeIfPresent(confusionMatrix, forKey: .confusionMatrix)
        try container.encode(reference, forKey: .reference)
        try container.encodeIfPresent(predictionReference, forKey: .predictionReference)
        try container.encodeIfPresent(targetReference, forKey: .targetReference)
        try container.encode(trainedAt, forKey: .trainedAt)
    }

    /// What one row predicts.
    public enum Output: Sendable, Equatable {
        case value(Double)
        /// The most probable class and each class's probability (in `classes` order).
        case label(String, probabilities: [Double])
    }

    /// Number of raw model outputs (1, or the number of classes).
    public var outputCount: Int { classes?.count ?? 1 }

    /// Predicts an encoded row into `output` (a value, or class probabilities); allocation-free.
    public func predict(_ row: UnsafeBufferPointer<Double>, into output: UnsafeMutableBufferPointer<Double>) {
        switch predictor {
        case .linear(let model): output[0] = model.predict(row)
        case .logistic(let model): model.probabilities(row, into: output)
        case .onnx(let model): model.predict(row, into: output)
        case .trees(let ensemble):
            if ensemble.link == .sigmoid {
                ensemble.predict(row, into: UnsafeMutableBufferPointer(rebasing: output[0..<1]))
                output[1] = output[0]
                output[0] = 1 - output[1]
            } else {
                ensemble.predict(row, into: output)
            }
        }
    }

    /// Predicts one encoded row.
    public func output(encoded row: [Double]) -> Output {
        var values = [Double](repeating: 0, count: outputCount)
        row.withUnsafeBufferPointer { row in values.withUnsafeMutableBufferPointer { predict(row, into: $0) } }
        guard let classes else { return .value(values[0]) }
        let best = values.indices.max { values[$0] < values[$1] } ?? 0
        return .label(classes[best], probabilities: values)
    }

    /// The regression value of an encoded row (for classification, the top class's probability).
    public func predict(encoded row: [Double]) -> Double {
        switch output(encoded: row) {
        case .value(let value): value
        case .label(_, let probabilities): probabilities.max() ?? .nan
        }
    }

    /// The encoder for this model's inputs.
    public var encoder: FeatureEncoder { FeatureEncoder(features: features) }

    /// Input width the predictor expects.
    var predictorWidth: Int {
        switch predictor {
        case .linear(let model): model.coefficients.count
        case .logistic(let model): model.coefficients.first?.count ?? 0
        case .trees(let ensemble): ensemble.largestFeatureIndex + 1
        case .onnx: 0  // bound to the features by name when it loaded
        }
    }
}

/// The `model` object of `model.json`: the parameters of small models
/// inline, the shape of a tree ensemble (its arrays are in `trees.bin`).
struct PredictorDescription: Codable {
    var kind: String
    var intercept: Double?
    var coefficients: [Double]?
    var intercepts: [Double]?
    var classCoefficients: [[Double]]?
    var file: String?
    var trees: Int?
    var nodes: Int?
    var leafWidth: Int?
    var outputs: Int?
    var base: [Double]?
    var combine: TreeEnsemble.Combine?
    var link: TreeEnsemble.Link?

    enum CodingKeys: String, CodingKey {
        case kind, intercept, coefficients, intercepts, file, trees, nodes, outputs, base, combine, link
        case classCoefficients = "class_coefficients"
        case leafWidth = "leaf_width"
    }

    static let treeFile = "trees.bin"
    static let onnxKind = "onnx"
    static let onnxFile = "model.onnx"

    init(_ predictor: Predictor) {
        switch predictor {
        case .linear(let model):
            kind = "linear"
            intercept = model.intercept
            coefficients = model.coefficients
        case .logistic(let model):
            kind = "logistic"
            intercepts = model.intercepts
            classCoefficients = model.coefficients
        case .trees(let ensemble):
            kind = "trees"
            file = Self.treeFile
            trees = ensemble.treeCount
            nodes = ensemble.nodes.count
            leafWidth = ensemble.leafWidth
            outputs = ensemble.outputs
            base = ensemble.base
            combine = ensemble.combine
            link = ensemble.link
        case .onnx:
            kind = Self.onnxKind
            file = Self.onnxFile
        }
    }

    /// The predictor; a tree ensemble still needs its arrays from `trees.bin`.
    var predictor: Predictor {
        get throws {
            func missing(_ key: String) -> ArtifactStore.LoadError {
                ArtifactStore.LoadError(problem: "model.json: model.\(key) is required for kind \(kind)")
            }
            switch kind {
            case "linear":
                guard let intercept else { throw missing("intercept") }
                guard let coefficients else { throw missing("coefficients") }
                return .linear(LinearModel(intercept: intercept, coefficients: coefficients))
            case "logistic":
                guard let intercepts else { throw missing("intercepts") }
                guard let classCoefficients, classCoefficients.count == intercepts.count else {
                    throw missing("class_coefficients")
                }
                return .logistic(LogisticModel(intercepts: intercepts, coefficients: classCoefficients))
            case "trees":
                guard let leafWidth, leafWidth > 0 else { throw missing("leaf_width") }
                guard let outputs, outputs > 0 else { throw missing("outputs") }
                guard let base, base.count == outputs else { throw missing("base") }
                guard let combine else { throw missing("combine") }
                guard let link else { throw missing("link") }
                return .trees(
                    TreeEnsemble(leafWidth: leafWidth, outputs: outputs, base: base, combine: combine, link: link))
            case Self.onnxKind:
                throw ArtifactStore.LoadError(problem: "model.json: an onnx model loads from its artifact directory")
            default:
                throw ArtifactStore.LoadError(problem: "model.json: unknown model kind \"\(kind)\"")
            }
        }
    }
}

/// Summary of one input in the training data, for drift checks: numbers get
/// moments and deciles, categories their frequencies.
public struct FeatureStatistics: Codable, Sendable, Equatable {
    public var count: Int
    /// Rows where the value was missing (kept as missing for tree models).
    public var missing: Int
    public var mean: Double?
    public var std: Double?
    public var min: Double?
    public var max: Double?
    /// The 0, 10, …, 100th percentiles.
    public var deciles: [Double]?
    /// The training values binned by their percentiles, for drift tests;
    /// absent in artifacts trained before monitoring (drift then bins by `deciles`).
    public var histogram: Histogram?
    /// How many training rows had each category.
    public var frequencies: [String: Int]?

    /// Statistics of a numeric column (NaN counts as missing).
    public init(values: [Double]) {
        let sorted = values.filter { !$0.isNaN }.sorted()
        count = values.count
        missing = values.count - sorted.count
        guard !sorted.isEmpty else { return }
        let average = sorted.reduce(0, +) / Double(sorted.count)
        mean = average
        std = (sorted.reduce(0) { $0 + ($1 - average) * ($1 - average) } / Double(sorted.count)).squareRoot()
        min = sorted.first
        max = sorted.last
        deciles = (0...10).map { sorted[Swift.min(sorted.count - 1, $0 * (sorted.count - 1) / 10)] }
        histogram = Histogram(sorted: sorted)
    }

    /// Linear interpolation between order statistics (numpy's default).
    static func quantile(_ sorted: [Double], _ fraction: Double) -> Double {
        let position = fraction * Double(sorted.count - 1)
        let lower = Int(position.rounded(.down))
        let upper = Swift.min(sorted.count - 1, lower + 1)
        return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - Double(lower))
    }

    /// Statistics of a categorical feature.
    public init(frequencies: [String: Int], rows: Int) {
        count = rows
        missing = rows - frequencies.values.reduce(0, +)
        self.frequencies = frequencies
    }

    /// Statistics of a target (or of predictions): values for regression,
    /// label counts for classification (`values` hold class indices).
    public static func target(_ values: [Double], classes: [String]?) -> FeatureStatistics {
        guard let classes else { return FeatureStatistics(values: values) }
        var frequencies: [String: Int] = [:]
        for value in values where Int(value) >= 0 && Int(value) < classes.count {
            frequencies[classes[Int(value)], default: 0] += 1
        }
        return FeatureStatistics(frequencies: frequencies, rows: values.count)
    }

    /// Reference statistics for every feature of an encoded dataset.
    public static func reference(features: [FeatureSpec], data: Dataset) -> [String: FeatureStatistics] {
        var reference: [String: FeatureStatistics] = [:]
        var column = 0
        for feature in features {
            if feature.type == .categorical {
                var frequencies: [String: Int] = [:]
                for (position, category) in (feature.categories ?? []).enumerated() {
                    frequencies[category] = Int(data.columns[column + position].reduce(0, +))
                }
                reference[feature.name] = FeatureStatistics(frequencies: frequencies, rows: data.count)
            } else {
                reference[feature.name] = FeatureStatistics(values: data.columns[column])
            }
            column += feature.width
        }
        return reference
    }
}

/// Reads and writes artifact directories: `<root>/<name>/<version>/` holding
/// `model.json`, `manifest.yaml`, `metrics.json`, `reference.json` and, for
/// tree models, `trees.bin` (for ONNX models, `model.onnx`). A
/// directory is written under a temporary name, fsynced and renamed into
/// place, and never modified afterwards; its content hash detects tampering.
public enum ArtifactStore {
    /// The `conveyor.yaml` stored beside the artifact at `path` (relative to `root`), if readable.
    public static func manifestYAML(root: URL, path: String) -> String? {
        let file = root.appendingPathComponent(path).appendingPathComponent("manifest.yaml")
        return FileManager.default.contents(atPath: file.path).map { String(decoding: $0, as: UTF8.self) }
    }

    public static let modelFile = "model.json"
    /// The decoder's user-info key for the directory `model.json` is read from.
    static let directoryKey = CodingUserInfoKey(rawValue: "conveyor.artifactDirectory")!

    /// A stored artifact that failed its integrity check or did not load.
    public struct LoadError: Error, CustomStringConvertible {
        public let problem: String
        public init(problem: String) { self.problem = problem }
        public var description: String { problem }
    }

    /// Writes the directory atomically and returns its path and content hash.
    public static func write(
        _ artifact: ModelArtifact, manifestYAML: String, root: URL
    ) throws -> (path: URL, sha256: String) {
        let fileManager = FileManager.default
        let parent = root.appendingPathComponent(artifact.name, isDirectory: true)
        try fileManager.createDirectory(at: parent, withIntermediateDirectories: true)
        let final = parent.appendingPathComponent(artifact.version, isDirectory: true)
        let temporary = parent.appendingPathComponent(
            ".tmp-\(artifact.version)-\(UUID().uuidString)", isDirectory: true)
        try fileManager.createDirectory(at: temporary, withIntermediateDirectories: false)
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            encoder.dateEncodingStrategy = .iso8601
            var files: [(String, Data)] = [
                (modelFile, try encoder.encode(artifact)),
                ("manifest.yaml", Data(manifestYAML.utf8)),
                ("metrics.json", try encoder.encode(artifact.metrics)),
                ("reference.json", try encoder.encode(artifact.reference)),
            ]
            if case .trees(let ensemble) = artifact.predictor {
                files.append((PredictorDescription.treeFile, ensemble.binary()))
            }
            if case .onnx(let model) = artifact.predictor {
                files.append((PredictorDescription.onnxFile, model.data))
            }
            for (name, data) in files {
                try writeDurably(data, to: temporary.appendingPathComponent(name))
            }
            try fsyncPath(temporary)
            try fileManager.moveItem(at: temporary, to: final)
            try fsyncPath(parent)
        } catch {
            try? fileManager.removeItem(at: temporary)
            throw error
        }
        return (final, try contentHash(of: final))
    }

    /// Loads `model.json` after checking the directory's hash (when given).
    public static func load(from directory: URL, expectedSHA256: String?) throws -> ModelArtifact {
        if let expectedSHA256 {
            let actual = try contentHash(of: directory)
            guard actual == expectedSHA256 else {
                throw LoadError(problem: "artifact \(directory.path) has hash \(actual), expected \(expectedSHA256)")
            }
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        decoder.userInfo[directoryKey] = directory
        var artifact: ModelArtifact
        do {
            artifact = try decoder.decode(
                ModelArtifact.self, from: Data(contentsOf: directory.appendingPathComponent(modelFile)))
        } catch let error as LoadError {
            throw error
        } catch {
            throw LoadError(problem: "\(modelFile) does not decode: \(error)")
        }
        guard artifact.format == ModelArtifact.format, artifact.formatVersion <= ModelArtifact.currentFormatVersion
        else {
            throw LoadError(problem: "unsupported artifact format \(artifact.format) v\(artifact.formatVersion)")
        }
        if case .trees(var ensemble) = artifact.predictor {
            try ensemble.load(binary: Data(contentsOf: directory.appendingPathComponent(PredictorDescription.treeFile)))
            artifact.predictor = .trees(ensemble)
        }
        let width = artifact.encoder.width + (artifact.forecast?.inputWidth ?? 0)
        guard artifact.predictorWidth <= width else {
            throw LoadError(
                problem: "the model reads \(artifact.predictorWidth) inputs but its features encode \(width)")
        }
        return artifact
    }

    /// sha256 over the sorted file names and each file's own sha256.
    public static func contentHash(of directory: URL) throws -> String {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        var hasher = SHA256()
        for name in names {
            let digest = SHA256.hash(data: try Data(contentsOf: directory.appendingPathComponent(name)))
            hasher.update(data: Data(name.utf8))
            hasher.update(data: Data([0]))
            hasher.update(data: Data(digest))
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    private static func writeDurably(_ data: Data, to url: URL) throws {
        guard FileManager.default.createFile(atPath: url.path, contents: data) else {
            throw LoadError(problem: "cannot write \(url.path)")
        }
        try fsyncPath(url)
    }

    private static func fsyncPath(_ url: URL) throws {
        let descriptor = open(url.path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw LoadError(problem: "cannot open \(url.path) to sync it") }
        defer { close(descriptor) }
        _ = fsync(descriptor)
    }
}
