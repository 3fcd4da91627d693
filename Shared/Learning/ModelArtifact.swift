import Crypto
import Foundation

/// A trained model as stored in `model.json` (plus `trees.bin` for tree
/// ensembles) inside an artifact directory. Self-describing: it carries its
/// feature schema, classes, metrics and reference statistics, so `serving`
/// needs nothing else to validate and predict. docs/artifact-format.md documents the format.
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
    /// Each input's mean |contribution| to the predictions on the test split (global
    /// importance); nil for models that cannot explain (ONNX, Python) and older artifacts.
    public var importance: [String: Double]?
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
        case importance
        case legacyLinear = "linear"
    }

    public init(
        name: String, version: String, task: Manifest.Task, algorithm: String, params: [String: Double] = [:],
        target: String, features: [FeatureSpec], classes: [String]? = nil, predictor: Predictor,
        forecast: ForecastModel? = nil, metrics: [String: Double], confusionMatrix: [[Int]]? = nil,
        reference: [String: FeatureStatistics], predictionReference: FeatureStatistics? = nil,
        targetReference: FeatureStatistics? = nil, importance: [String: Double]? = nil, trainedAt: Date
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
        self.importance = importance
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
            if description.kind == PredictorDescription.pythonKind {
                guard var python = description.python else {
                    throw ArtifactStore.LoadError(problem: "model.json: model.python is required for kind python")
                }
                python.directory = decoder.userInfo[ArtifactStore.directoryKey] as? URL
                predictor = .python(python)
            } else if description.kind == PredictorDescription.onnxKind {
                // The graph is in the artifact directory beside model.json.
                guard let directory = decoder.userInfo[ArtifactStore.directoryKey] as? URL else {
                    throw ArtifactStore.LoadError(
                        problem: "model.json: an onnx model loads from its artifact directory")
                }
                let data = try Data(
                    contentsOf: directory.appendingPathComponent(description.file ?? PredictorDescription.onnxFile))
                var model = try ONNXPredictor(data: data, features: features, classes: classes)
                model.covers = description.covers
                model.explanationUnavailable = description.explanationUnavailable
                predictor = .onnx(model)
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
        importance = try container.decodeIfPresent([String: Double].self, forKey: .importance)
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
        try container.encodeIfPresent(importance, forKey: .importance)
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
        case .python:
            // Answered by its worker processes (serving's pool, the trainer's evaluation), never here.
            for index in output.indices { output[index] = .nan }
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

    /// The repository's Python model, when it is one.
    public var python: PythonModel? {
        if case .python(let model) = predictor { return model }
        return nil
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
        case .python: 0  // reads its features by name
        }
    }
}
