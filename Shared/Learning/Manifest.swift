import Foundation
import Yams

/// The model repository's `conveyor.yaml`: what to train, on which data, and
/// which gates a new model must pass. See docs/manifest.md for the full reference.
public struct Manifest: Codable, Sendable, Equatable {
    /// Model tasks.
    public enum Task: String, Codable, Sendable {
        case regression
        /// Predict a class label, with a probability per class.
        case classification
        /// Predict the target's next values from its own history (see `forecast`).
        case forecast
    }

    /// How a forecast model reads its series.
    public struct ForecastSpec: Codable, Sendable, Equatable {
        /// The date column (`YYYY-MM-DD`); rows may come in any order.
        public var date: String
        /// Past values used as inputs, in steps back (1 = the previous step).
        public var lags: [Int]?
        /// Trailing mean windows, in steps.
        public var windows: [Int]?
        /// Most steps ahead one request may ask for.
        public var maxHorizon: Int?

        enum CodingKeys: String, CodingKey {
            case date, lags, windows
            case maxHorizon = "max_horizon"
        }

        public var resolvedLags: [Int] { lags ?? [1, 2, 3, 7, 14] }
        public var resolvedWindows: [Int] { windows ?? [7, 28] }
        public var resolvedMaxHorizon: Int { maxHorizon ?? 365 }
    }

    /// Where the data is: separate train/test files, or one file split by order.
    public struct DataSource: Codable, Sendable, Equatable {
        public var train: DataFile?
        public var test: DataFile?
        public var path: DataFile?
        public var split: Split?
        /// Fewest valid rows each of the training and test sets must have.
        public var minRows: Int?

        enum CodingKeys: String, CodingKey {
            case train, test, path, split
            case minRows = "min_rows"
        }

        /// Hold out the last `test_fraction` of rows (file order) for testing.
        public struct Split: Codable, Sendable, Equatable {
            public var testFraction: Double
            enum CodingKeys: String, CodingKey { case testFraction = "test_fraction" }
        }
    }

    /// The learner and its parameters, a pre-trained model file
    /// (`format: onnx`, `path: models/model.onnx`) committed in the repository,
    /// or the repository's own Python code (`format: python`, `module: main.py`).
    public struct ModelSpec: Codable, Sendable, Equatable {
        /// A built-in learner, or the format's name for `onnx` and `python`.
        public var algorithm: String
        public var params: [String: Double]?
        /// `onnx` for a model file, `python` for the repository's own module; nil for a built-in learner.
        public var format: String?
        /// The model file, relative to the repository root.
        public var path: String?
        /// `format: python`: the module defining train and predict (default `main.py`).
        public var module: String?
        /// `format: python`: the requirements file its environment is built from.
        public var requirements: String?
        /// `format: python`: the training time limit (`90s`, `20m`, `1h`; default `20m`).
        public var timeout: String?

        public static let onnxFormat = "onnx"
        public static let pythonFormat = "python"
        public static let mlflowFormat = "mlflow"

        enum CodingKeys: String, CodingKey { case algorithm, params, format, path, module, requirements, timeout }

        public init(
            algorithm: String, params: [String: Double]? = nil, format: String? = nil, path: String? = nil,
            module: String? = nil, requirements: String? = nil, timeout: String? = nil
        ) {
            self.algorithm = algorithm
            self.params = params
            self.format = format
            self.path = path
            self.module = module
            self.requirements = requirements
            self.timeout = timeout
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            format = try container.decodeIfPresent(String.self, forKey: .format)
            path = try container.decodeIfPresent(String.self, forKey: .path)
            params = try container.decodeIfPresent([String: Double].self, forKey: .params)
            module = try container.decodeIfPresent(String.self, forKey: .module)
            requirements = try container.decodeIfPresent(String.self, forKey: .requirements)
            timeout = try container.decodeIfPresent(String.self, forKey: .timeout)
            if let format, !container.contains(.algorithm) {
                algorithm = format
            } else {
                algorithm = try container.decode(String.self, forKey: .algorithm)
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            if format == nil { try container.encode(algorithm, forKey: .algorithm) }
            try container.encodeIfPresent(params, forKey: .params)
            try container.encodeIfPresent(format, forKey: .format)
            try container.encodeIfPresent(path, forKey: .path)
            try container.encodeIfPresent(module, forKey: .module)
            try container.encodeIfPresent(requirements, forKey: .requirements)
            try container.encodeIfPresent(timeout, forKey: .timeout)
        }

        /// Whether the model is a committed (or `train:`-written) ONNX file.
        public var isONNX: Bool { format == Self.onnxFormat }
        /// Whether the model is the repository's own Python code.
        public var isPython: Bool { format == Self.pythonFormat }
        /// Whether the model is an MLflow model directory (committed, or written by `train:`).
        public var isMLflow: Bool { format == Self.mlflowFormat }
        /// Whether the model is one of Conveyor's own learners.
        public var isBuiltIn: Bool { format == nil }
        /// The module's path in the repository.
        public var resolvedModule: String { module ?? "main.py" }
        /// The training time limit, or nil when it does not parse.
        public var resolvedTimeout: Duration? { DurationText.parse(timeout ?? "20m") }
    }

    /// The repository's own training command (`train:`), whose ONNX output
    /// Conveyor then evaluates, gates and serves. See docs/bring-your-own-model.md.
    public struct TrainSpec: Codable, Sendable, Equatable {
        public var command: [String]
        public var requirements: String?
        /// The file the command writes into `$CONVEYOR_OUTPUT_DIR` (default `model.onnx`).
        public var output: String?
        /// `90s`, `20m`, `1h` (default `20m`).
        public var timeout: String?

        public init(command: [String], requirements: String? = nil, output: String? = nil, timeout: String? = nil) {
            self.command = command
            self.requirements = requirements
            self.output = output
            self.timeout = timeout
        }

        public var resolvedOutput: String { output ?? "model.onnx" }
        /// The directory the command writes for `model: {format: mlflow}` (default `mlflow-model`).
        public var resolvedMLflowOutput: String { output ?? "mlflow-model" }

        /// The timeout as a duration, or nil when it does not parse.
        public var resolvedTimeout: Duration? { DurationText.parse(timeout ?? "20m") }
    }

    /// An absolute bound on one metric.
    public struct Bound: Codable, Sendable, Equatable {
        public var min: Double?
        public var max: Double?
    }

    /// No worse than the deployed model on `metric`, by more than `tolerance` (relative).
    public struct NoRegression: Codable, Sendable, Equatable {
        public var metric: String
        public var tolerance: Double?

        public init(metric: String, tolerance: Double?) {
            self.metric = metric
            self.tolerance = tolerance
        }
    }

    /// `gates.shadow`: before deploy, the candidate answers the live model's
    /// last `requests` logged instances, and these bound how differently.
    public struct ShadowGate: Codable, Sendable, Equatable {
        /// How many logged instances to replay (default 1000).
        public var requests: Int?
        /// Fewer logged instances than this: the gate passes and says why (default 1).
        public var minRequests: Int?
        public var maxLabelDisagreement: Double?
        public var maxProbabilityShift: Double?
        public var maxMeanAbsDiff: Double?
        public var maxFailureShare: Double?

        public static let defaultRequests = 1000

        enum CodingKeys: String, CodingKey {
            case requests
            case minRequests = "min_requests"
            case maxLabelDisagreement = "max_label_disagreement"
            case maxProbabilityShift = "max_probability_shift"
            case maxMeanAbsDiff = "max_mean_abs_diff"
            case maxFailureShare = "max_failure_share"
        }
    }

    public var name: String
    public var task: Task
    public var data: DataSource
    public var target: String
    public var features: [FeatureSpec]
    public var model: ModelSpec
    /// Set for `task: forecast`.
    public var forecast: ForecastSpec?
    /// The repository's own training command, for `model: {format: onnx}`.
    public var train: TrainSpec?
    /// Absolute bounds by metric name.
    public var gates: [String: Bound]
    public var noRegression: NoRegression?
    public var shadow: ShadowGate?
    /// Drift and live-performance monitoring settings (all optional).
    public var monitoring: MonitoringSpec?
    /// The repository's own tests, run before training (`tests:`).
    public var tests: TestsSpec?

    enum CodingKeys: String, CodingKey {
        case name, task, data, target, features, model, gates, forecast, train, monitoring, tests
    }

    enum GateKeys: String, CodingKey {
        case noRegression = "no_regression"
        case shadow
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        task = try container.decode(Task.self, forKey: .task)
        data = try container.decode(DataSource.self, forKey: .data)
        target = try container.decode(String.self, forKey: .target)
        features = try container.decodeIfPresent([FeatureSpec].self, forKey: .features) ?? []
        model = try container.decode(ModelSpec.self, forKey: .model)
        forecast = try container.decodeIfPresent(ForecastSpec.self, forKey: .forecast)
        train = try container.decodeIfPresent(TrainSpec.self, forKey: .train)
        monitoring = try container.decodeIfPresent(MonitoringSpec.self, forKey: .monitoring)
        tests = try container.decodeIfPresent(TestsSpec.self, forKey: .tests)
        // `gates` mixes metric bounds with the `no_regression` rule.
        var bounds: [String: Bound] = [:]
        if container.contains(.gates) {
            let raw = try container.decode([String: GateEntry].self, forKey: .gates)
            for (key, entry) in raw {
                switch entry {
                case .bound(let bound): bounds[key] = bound
                case .noRegression(let rule): noRegression = rule
                case .shadow(let gate): shadow = gate
                }
            }
        }
        gates = bounds
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(task, forKey: .task)
        try container.encode(data, forKey: .data)
        try container.encode(target, forKey: .target)
        try container.encode(features, forKey: .features)
        try container.encode(model, forKey: .model)
        try container.encodeIfPresent(forecast, forKey: .forecast)
        try container.encodeIfPresent(train, forKey: .train)
        try container.encodeIfPresent(monitoring, forKey: .monitoring)
        try container.encodeIfPresent(tests, forKey: .tests)
        var all = gates.mapValues(GateEntry.bound)
        if let noRegression { all[GateKeys.noRegression.rawValue] = .noRegression(noRegression) }
        if let shadow { all[GateKeys.shadow.rawValue] = .shadow(shadow) }
        try container.encode(all, forKey: .gates)
    }

    private enum GateEntry: Codable {
        case bound(Bound)
        case noRegression(NoRegression)
        case shadow(ShadowGate)

        init(from decoder: any Decoder) throws {
            if decoder.codingPath.last?.stringValue == GateKeys.noRegression.rawValue {
                self = .noRegression(try NoRegression(from: decoder))
            } else if decoder.codingPath.last?.stringValue == GateKeys.shadow.rawValue {
                self = .shadow(try ShadowGate(from: decoder))
            } else {
                self = .bound(try Bound(from: decoder))
            }
        }

        func encode(to encoder: any Encoder) throws {
            switch self {
            case .bound(let bound): try bound.encode(to: encoder)
            case .noRegression(let rule): try rule.encode(to: encoder)
            case .shadow(let gate): try gate.encode(to: encoder)
            }
        }
    }

    /// A manifest that does not parse or does not make sense; names the key.
    public struct Problem: Error, CustomStringConvertible, Equatable {
        public let key: String
        public let problem: String
        public var description: String { "conveyor.yaml: \(key.isEmpty ? "(root)" : key): \(problem)" }
    }

    /// Parses and checks a manifest's YAML text.
    public static func parse(_ yaml: String) throws -> Manifest {
        let manifest: Manifest
        do {
            manifest = try YAMLDecoder().decode(Manifest.self, from: yaml)
        } catch let error as DecodingError {
            throw Self.problem(from: error)
        } catch {
            throw Problem(key: "", problem: "is not valid YAML: \(error)")
        }
        try manifest.check()
        return manifest
    }

    private func check() throws {
        try monitoring?.check(features: features)
        if let requests = shadow?.requests, !(1...100_000).contains(requests) {
            throw Problem(key: "gates.shadow.requests", problem: "must be between 1 and 100000")
        }
        if name.isEmpty || name.contains("/") || name.hasPrefix(".") {
            throw Problem(key: "name", problem: "must be a non-empty name without '/' or a leading '.'")
        }
        if task == .forecast {
            guard let forecast else {
                throw Problem(key: "forecast", problem: "is required for task forecast (at least forecast.date)")
            }
            if !features.isEmpty {
                throw Problem(
                    key: "features",
                    problem: "must be empty for task forecast: inputs are built from the target's history")
            }
            let lags = forecast.resolvedLags
            if lags.isEmpty || lags.contains(where: { $0 < 1 || $0 > 1000 }) {
                throw Problem(key: "forecast.lags", problem: "must be 1 to 1000 steps, at least one")
            }
            if forecast.resolvedWindows.contains(where: { $0 < 2 || $0 > 1000 }) {
                throw Problem(key: "forecast.windows", problem: "must be 2 to 1000 steps")
            }
            if !(1...10_000).contains(forecast.resolvedMaxHorizon) {
                throw Problem(key: "forecast.max_horizon", problem: "must be 1 to 10000")
            }
        } else if features.isEmpty {
            throw Problem(key: "features", problem: "must list at least one feature")
        }
        for (index, feature) in features.enumerated() where feature.missing == .native && model.isBuiltIn {
            if ["linear_regression", "logistic_regression"].contains(model.algorithm) {
                throw Problem(
                    key: "features[\(index)].missing",
                    problem: "native missing values need a tree model; \(model.algorithm) needs impute or reject")
            }
        }
        var seen = Set<String>()
        for (index, feature) in features.enumerated() {
            if !seen.insert(feature.name).inserted {
                throw Problem(key: "features[\(index)].name", problem: "\"\(feature.name)\" is listed twice")
            }
            if feature.name == target {
                throw Problem(key: "features[\(index)].name", problem: "the target cannot also be a feature")
            }
        }
        let hasPair = data.train != nil && data.test != nil
        let hasSplit = data.path != nil && data.split != nil
        if hasPair == hasSplit {
            throw Problem(key: "data", problem: "give either train and test, or path and split")
        }
        if let fraction = data.split?.testFraction, !(fraction > 0 && fraction < 1) {
            throw Problem(key: "data.split.test_fraction", problem: "must be between 0 and 1")
        }
        for (key, file) in data.files { try file.check(key: key) }
        try tests.map { try $0.check() }
        if train != nil && !model.isONNX && !model.isMLflow {
            if model.isPython {
                throw Problem(
                    key: "train", problem: "cannot be given with format python: model.module trains the model")
            }
            throw Problem(
                key: "train", problem: "needs model: {format: onnx} or {format: mlflow}: the command writes the model")
        }
        if model.isONNX {
            try checkModelFile()
        } else if model.isPython {
            try checkPythonModule()
        } else if model.isMLflow {
            try checkMLflowModel()
        } else if let format = model.format {
            throw Problem(key: "model.format", problem: "must be onnx, python or mlflow, got \"\(format)\"")
        } else {
            try Algorithms.check(model, task: task == .classification ? .classification : .regression)
        }
    }

    /// `train:`: a command, a plain output file name and a timeout that parses.
    private func check(_ train: TrainSpec) throws {
        if model.path != nil {
            throw Problem(key: "model.path", problem: "cannot be given with train: the command writes the model")
        }
        if train.command.isEmpty || train.command[0].isEmpty {
            throw Problem(
                key: "train.command", problem: "must list the program and its arguments, e.g. [python3, train.py]")
        }
        let output = train.resolvedOutput
        if output.isEmpty || output.contains("/") || output.hasPrefix(".") {
            throw Problem(
                key: "train.output", problem: "must be a file name (no '/', no leading '.'), got \"\(output)\"")
        }
        if (train.resolvedTimeout.map { $0 > .seconds(24 * 3600) }) ?? true {
            throw Problem(key: "train.timeout", problem: "must be a duration like 90s, 20m or 1h, at most 24h")
        }
        if let requirements = train.requirements,
            requirements.isEmpty || requirements.hasPrefix("/") || requirements.split(separator: "/").contains("..")
        {
            throw Problem(
                key: "train.requirements", problem: "must be a file inside the repository, got \"\(requirements)\"")
        }
    }

    /// `model: {format: python, module: …}`: a module and requirements inside the repository, a timeout that parses.
    private func checkPythonModule() throws {
        let module = model.resolvedModule
        if module.isEmpty || module.hasPrefix("/") || module.split(separator: "/").contains("..")
            || !module.hasSuffix(".py")
        {
            throw Problem(key: "model.module", problem: "must be a .py file inside the repository, got \"\(module)\"")
        }
        let name = String(module.split(separator: "/").last ?? "").dropLast(3)
        if name.isEmpty || name.first!.isNumber
            || !name.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) || $0 == "_" })
        {
            throw Problem(
                key: "model.module",
                problem: "the file name must be a Python identifier (like main.py), got \"\(module)\"")
        }
        if let requirements = model.requirements,
            requirements.isEmpty || requirements.hasPrefix("/") || requirements.split(separator: "/").contains("..")
        {
            throw Problem(
                key: "model.requirements", problem: "must be a file inside the repository, got \"\(requirements)\"")
        }
        if (model.resolvedTimeout.map { $0 > .seconds(24 * 3600) }) ?? true {
            throw Problem(key: "model.timeout", problem: "must be a duration like 90s, 20m or 1h, at most 24h")
        }
        if model.path != nil {
            throw Problem(key: "model.path", problem: "cannot be given with format python: model.module is the model")
        }
        if !(model.params ?? [:]).isEmpty {
            throw Problem(key: "model.params", problem: "cannot be given with format python: the module trains itself")
        }
        if model.algorithm != ModelSpec.pythonFormat {
            throw Problem(
                key: "model.algorithm", problem: "cannot be given with format python: the module is the model")
        }
    }

    /// A model file or directory: written by `train:` (checked), or at `model.path` inside the repository.
    private func checkTrainOrPath(required: String) throws {
        if let train { return try check(train) }
        guard let path = model.path, !path.isEmpty else { throw Problem(key: "model.path", problem: required) }
        if path.hasPrefix("/") || path.split(separator: "/").contains("..") {
            throw Problem(key: "model.path", problem: "must be a path inside the repository, got \"\(path)\"")
        }
    }

    /// `model: {format: mlflow, path: …}` (or `train:` writing the directory): no learner settings, no forecast.
    private func checkMLflowModel() throws {
        try checkTrainOrPath(
            required: "is required with format mlflow (a directory holding MLmodel), unless train: writes it")
        for (key, given) in [
            ("model.module", model.module != nil), ("model.requirements", model.requirements != nil),
            ("model.params", !(model.params ?? [:]).isEmpty),
            ("model.algorithm", model.algorithm != ModelSpec.mlflowFormat),
        ] where given {
            throw Problem(key: key, problem: "cannot be given with format mlflow: the MLmodel directory is the model")
        }
        if task == .forecast {
            throw Problem(
                key: "model.format", problem: "mlflow models serve regression and classification, not forecast")
        }
    }

    /// `model: {format: onnx, path: …}`: the format, a path inside the repository, no learner settings.
    private func checkModelFile() throws {
        guard model.format == ModelSpec.onnxFormat else {
            throw Problem(key: "model.format", problem: "must be onnx, got \"\(model.format ?? "")\"")
        }
        try checkTrainOrPath(
            required: "is required with format onnx (e.g. models/model.onnx), unless train: makes the file")
        if model.algorithm != ModelSpec.onnxFormat {
            throw Problem(key: "model.algorithm", problem: "cannot be given with format onnx: the file is the model")
        }
        if !(model.params ?? [:]).isEmpty {
            throw Problem(key: "model.params", problem: "cannot be given with format onnx: the file is the model")
        }
        if task == .forecast {
            throw Problem(key: "model.format", problem: "onnx models serve regression and classification, not forecast")
        }
    }

    private static func problem(from error: DecodingError) -> Problem {
        func path(_ keys: [any CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
                .trimmingCharacters(in: CharacterSet(charactersIn: "."))
        }
        switch error {
        case .keyNotFound(let key, let context):
            let parent = path(context.codingPath)
            return Problem(
                key: parent.isEmpty ? key.stringValue : "\(parent).\(key.stringValue)", problem: "is required")
        case .typeMismatch(let type, let context):
            return Problem(key: path(context.codingPath), problem: "must be \(describe(type))")
        case .valueNotFound(let type, let context):
            return Problem(key: path(context.codingPath), problem: "must be \(describe(type)), found null")
        case .dataCorrupted(let context):
            let underlying = context.underlyingError.map { " (\($0))" } ?? ""
            return Problem(key: path(context.codingPath), problem: context.debugDescription + underlying)
        @unknown default:
            return Problem(key: "", problem: "\(error)")
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Double.Type, is Int.Type: "a number"
        case is [Any].Type: "a list"
        default: "\(type)".lowercased().contains("dictionary") ? "a mapping" : "a \(type)"
        }
    }
}
