/// The learners this build can train, their parameters (checked when the
/// manifest is parsed, so a typo fails the run with the key's name) and the
/// tasks each supports.
public enum Algorithms {
    /// One parameter: its name, allowed range, and whether it must be whole.
    struct Parameter {
        let name: String
        let range: ClosedRange<Double>
        var integer = false
        let meaning: String
    }

    struct Entry {
        let name: String
        let classification: Bool
        let regression: Bool
        let parameters: [Parameter]
    }

    static let seed = Parameter(name: "seed", range: 0...Double(UInt32.max), integer: true, meaning: "random seed")
    static let maxDepth = Parameter(name: "max_depth", range: 1...1000, integer: true, meaning: "deepest split level")
    static let entries: [Entry] = [
        Entry(
            name: "linear_regression", classification: false, regression: true,
            parameters: [Parameter(name: "l2", range: 0...1e12, meaning: "ridge penalty")]),
        Entry(
            name: "logistic_regression", classification: true, regression: false,
            parameters: [
                Parameter(name: "c", range: 1e-9...1e12, meaning: "inverse regularization"),
                Parameter(name: "max_iter", range: 1...100_000, integer: true, meaning: "L-BFGS iterations"),
            ]),
        Entry(
            name: "decision_tree", classification: true, regression: true,
            parameters: [
                maxDepth,
                Parameter(name: "min_samples_leaf", range: 1...1e9, integer: true, meaning: "rows per leaf"),
            ]),
        Entry(
            name: "random_forest", classification: true, regression: true,
            parameters: [
                Parameter(name: "trees", range: 1...10_000, integer: true, meaning: "number of trees"),
                maxDepth,
                Parameter(name: "min_samples_leaf", range: 1...1e9, integer: true, meaning: "rows per leaf"),
                Parameter(name: "max_features", range: 1e-9...1, meaning: "fraction of inputs tried per split"),
                Parameter(name: "bootstrap", range: 0...1, integer: true, meaning: "1 to sample rows, 0 not"),
                seed,
            ]),
        Entry(
            name: "gradient_boosting", classification: true, regression: true,
            parameters: [
                Parameter(name: "iterations", range: 1...100_000, integer: true, meaning: "boosting rounds"),
                Parameter(name: "learning_rate", range: 1e-9...1, meaning: "shrinkage"),
                Parameter(name: "max_leaves", range: 2...1e6, integer: true, meaning: "leaves per tree"),
                maxDepth,
                Parameter(name: "min_samples_leaf", range: 1...1e9, integer: true, meaning: "rows per leaf"),
                Parameter(name: "l2", range: 0...1e12, meaning: "L2 penalty on leaf values"),
                Parameter(
                    name: "early_stopping_rounds", range: 0...100_000, integer: true,
                    meaning: "rounds without validation improvement before stopping (0: off)"),
                Parameter(name: "validation_fraction", range: 0.01...0.5, meaning: "rows held out for early stopping"),
                seed,
            ]),
    ]

    public static var known: Set<String> { Set(entries.map(\.name)) }

    /// Checks an algorithm, its parameters and its fit with the task; the
    /// problem names the manifest key.
    static func check(_ model: Manifest.ModelSpec, task: Manifest.Task) throws {
        guard let entry = entries.first(where: { $0.name == model.algorithm }) else {
            throw Manifest.Problem(
                key: "model.algorithm",
                problem: "unknown algorithm \"\(model.algorithm)\"; known: \(known.sorted().joined(separator: ", "))")
        }
        let classification = task == .classification
        if classification && !entry.classification || !classification && !entry.regression {
            let supported = entries.filter { classification ? $0.classification : $0.regression }.map(\.name)
            throw Manifest.Problem(
                key: "model.algorithm",
                problem:
                    "\(entry.name) cannot do \(task.rawValue); use one of \(supported.joined(separator: ", "))")
        }
        for (name, value) in model.params ?? [:] {
            guard let parameter = entry.parameters.first(where: { $0.name == name }) else {
                let allowed = entry.parameters.map(\.name).joined(separator: ", ")
                throw Manifest.Problem(
                    key: "model.params.\(name)", problem: "is not a parameter of \(entry.name) (it has: \(allowed))")
            }
            if !parameter.range.contains(value) || (parameter.integer && value != value.rounded()) {
                let kind = parameter.integer ? "a whole number" : "a number"
                throw Manifest.Problem(
                    key: "model.params.\(name)",
                    problem:
                        "must be \(kind) from \(parameter.range.lowerBound) to \(parameter.range.upperBound) (\(parameter.meaning)), got \(value)"
                )
            }
        }
    }

    /// Fits the manifest's model. `classes` is set for classification.
    public static func fit(
        _ model: Manifest.ModelSpec, data: Dataset, classes: Int?, progress: TrainingProgress? = nil
    ) -> Predictor {
        let params = model.params ?? [:]
        func int(_ name: String) -> Int? { params[name].map { Int($0) } }
        let target: LearningTarget = classes.map { .classification(classes: $0) } ?? .regression
        switch model.algorithm {
        case "linear_regression":
            return .linear(LinearModel.fit(data, l2: params["l2"] ?? 0))
        case "logistic_regression":
            var parameters = LogisticModel.Parameters()
            parameters.c = params["c"] ?? parameters.c
            parameters.maxIterations = int("max_iter") ?? parameters.maxIterations
            return .logistic(LogisticModel.fit(data, classes: classes ?? 2, parameters: parameters))
        case "decision_tree":
            var parameters = DecisionTree.Parameters()
            parameters.maxDepth = int("max_depth")
            parameters.minSamplesLeaf = int("min_samples_leaf") ?? parameters.minSamplesLeaf
            return .trees(DecisionTree.fit(data, target: target, parameters: parameters))
        case "random_forest":
            var parameters = RandomForest.Parameters()
            parameters.trees = int("trees") ?? parameters.trees
            parameters.maxDepth = int("max_depth")
            parameters.minSamplesLeaf = int("min_samples_leaf") ?? parameters.minSamplesLeaf
            parameters.maxFeatures = params["max_features"]
            parameters.bootstrap = (params["bootstrap"] ?? 1) != 0
            parameters.seed = UInt64(int("seed") ?? 0)
            return .trees(RandomForest.fit(data, target: target, parameters: parameters, progress: progress))
        default:
            var parameters = GradientBoosting.Parameters()
            parameters.iterations = int("iterations") ?? parameters.iterations
            parameters.learningRate = params["learning_rate"] ?? parameters.learningRate
            parameters.maxLeaves = int("max_leaves") ?? (params["max_depth"] == nil ? 31 : nil)
            parameters.maxDepth = int("max_depth")
            parameters.minSamplesLeaf = int("min_samples_leaf") ?? parameters.minSamplesLeaf
            parameters.l2 = params["l2"] ?? 0
            parameters.earlyStoppingRounds = int("early_stopping_rounds") ?? 0
            parameters.validationFraction = params["validation_fraction"] ?? 0.1
            parameters.seed = UInt64(int("seed") ?? 0)
            return .trees(GradientBoosting.fit(data, target: target, parameters: parameters, progress: progress))
        }
    }
}
