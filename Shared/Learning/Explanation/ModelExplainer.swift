/// Explains a built-in model's predictions exactly: TreeSHAP for tree ensembles, and for
/// linear and logistic regression `coefficient × (value − training mean)` in the linear
/// predictor's space (their exact Shapley values with independent inputs). Contributions of
/// the encoded columns of one feature (a category's one-hot columns) are summed, so there is
/// one per manifest feature (or per forecast input). Built once per loaded model.
public struct ModelExplainer: Sendable {
    /// The inputs contributions are reported for: the manifest's features, or a forecast's inputs.
    public let inputNames: [String]
    /// The class of each output (classification), nil for one regression output.
    public let outputNames: [String]?
    private let method: Method
    /// The input each encoded column belongs to.
    private let columnInput: [Int]

    private enum Method: Sendable {
        /// `doubled`: one raw score for two classes (sigmoid): the first class gets its negation.
        case trees(TreeSHAP, doubled: Bool)
        /// Per output: intercept, coefficients, and the training means of the columns.
        case linear(intercepts: [Double], coefficients: [[Double]], means: [Double])
        /// A repository's ONNX tree ensemble: the graph runs up to the ensemble, TreeSHAP on its trees.
        case onnx(ONNXTreeExplanation, TreeSHAP)
    }

    /// Whether `init` would succeed, without building anything (the API document asks on every request).
    public static func isAvailable(for artifact: ModelArtifact) -> Bool {
        switch artifact.predictor {
        case .trees(let ensemble): ensemble.covers.count == ensemble.nodes.count && !ensemble.nodes.isEmpty
        case .linear(let model): model.means?.count == model.coefficients.count
        case .logistic(let model):
            model.means.map { means in model.coefficients.allSatisfy { $0.count == means.count } } ?? false
        case .onnx(let model): model.covers != nil
        case .python: false
        }
    }

    /// Throws when the model's kind has no exact explanation here, or it was saved without
    /// what one needs (trees without covers, linear models without their training means).
    public init(_ artifact: ModelArtifact) throws(ExplanationUnavailable) {
        if let forecast = artifact.forecast {
            inputNames = forecast.inputNames
            columnInput = Array(inputNames.indices)
        } else {
            inputNames = artifact.features.map(\.name)
            columnInput = artifact.features.enumerated().flatMap { index, feature in
                [Int](repeating: index, count: feature.width)
            }
        }
        outputNames = artifact.classes
        let retrain = "this version was trained before explanations existed; retrain it to explain its predictions"
        switch artifact.predictor {
        case .trees(let ensemble):
            guard let shap = TreeSHAP(ensemble) else {
                throw ExplanationUnavailable(format: artifact.algorithm, reason: retrain)
            }
            method = .trees(shap, doubled: ensemble.link == .sigmoid && (artifact.classes?.count ?? 1) == 2)
        case .linear(let model):
            guard let means = model.means, means.count == model.coefficients.count else {
                throw ExplanationUnavailable(format: artifact.algorithm, reason: retrain)
            }
            method = .linear(intercepts: [model.intercept], coefficients: [model.coefficients], means: means)
        case .logistic(let model):
            guard let means = model.means, model.coefficients.allSatisfy({ $0.count == means.count }) else {
                throw ExplanationUnavailable(format: artifact.algorithm, reason: retrain)
            }
            method = .linear(intercepts: model.intercepts, coefficients: model.coefficients, means: means)
        case .onnx(let model):
            // Without covers the graph is not parsed again: the run recorded why (or predates them).
            guard model.covers != nil else {
                throw ExplanationUnavailable(
                    format: "onnx",
                    reason: model.explanationUnavailable
                        ?? "this version was trained before explanations of ONNX tree ensembles existed; retrain it")
            }
            let explanation = try ONNXTreeExplanation(model)
            guard let shap = TreeSHAP(explanation.trees) else {
                throw ExplanationUnavailable(format: "onnx", reason: "its recorded covers do not fit its trees")
            }
            method = .onnx(explanation, shap)
        case .python:
            throw ExplanationUnavailable(
                format: "python",
                reason: "a repository's own Python model is a black box to Conveyor; exact explanations cover "
                    + "its built-in trees and linear models")
        }
    }

    /// Explains one encoded row (the model's input vector; NaN where a value is missing).
    public func explain(_ row: UnsafeBufferPointer<Double>) -> Explanation {
        let inputs = inputNames.count
        switch method {
        case .trees(let shap, let doubled):
            let outputs = shap.ensemble.outputs
            let columns = max(row.count, shap.columns)
            var phi = [Double](repeating: 0, count: columns * outputs)
            phi.withUnsafeMutableBufferPointer { shap.addContributions(row, into: $0) }
            var contributions = [[Double]](repeating: [Double](repeating: 0, count: inputs), count: outputs)
            for column in 0..<min(columns, columnInput.count) {
                for k in 0..<outputs { contributions[k][columnInput[column]] += phi[column * outputs + k] }
            }
            guard doubled else { return Explanation(baseValues: shap.expected, contributions: contributions) }
            return Explanation(
                baseValues: [-shap.expected[0], shap.expected[0]],
                contributions: [contributions[0].map { -$0 }, contributions[0]])
        case .onnx(let explanation, let shap):
            // The graph ran on this row for its prediction already; should it fail here, the
            // explanation is NaN, which the routes refuse as non-finite.
            guard let explained = try? explanation.explain(Array(row), shap: shap, inputs: inputs) else {
                let count = outputNames?.count ?? 1
                return Explanation(
                    baseValues: [Double](repeating: .nan, count: count),
                    contributions: [[Double]](repeating: [Double](repeating: .nan, count: inputs), count: count))
            }
            return explained
        case .linear(let intercepts, let coefficients, let means):
            var bases = intercepts
            var contributions = [[Double]](repeating: [Double](repeating: 0, count: inputs), count: intercepts.count)
            for k in intercepts.indices {
                for (column, weight) in coefficients[k].enumerated() where column < row.count {
                    bases[k] += weight * means[column]
                    contributions[k][columnInput[column]] += weight * (row[column] - means[column])
                }
            }
            return Explanation(baseValues: bases, contributions: contributions)
        }
    }

    /// How many rows global importance explains: 2,000, fewer for a large ensemble (about 20
    /// million nodes visited in all, at least 100 rows): a 100-tree depth-12 forest takes 25 ms
    /// a row, and importance must not add minutes to its training.
    public var importanceRows: Int {
        if case .onnx(_, let shap) = method {
            return min(500, max(100, 20_000_000 / max(1, shap.ensemble.nodes.count)))
        }
        guard case .trees(let shap, _) = method else { return 2000 }
        return min(2000, max(100, 20_000_000 / max(1, shap.ensemble.nodes.count)))
    }

    /// Explains one encoded row.
    public func explain(encoded row: [Double]) -> Explanation {
        row.withUnsafeBufferPointer { explain($0) }
    }

    /// Global importance: each input's mean |contribution| over `data`'s rows (at most
    /// `limit`, evenly spread; by default `importanceRows`) and over the outputs.
    public func importance(_ data: Dataset, limit: Int? = nil) -> [String: Double] {
        guard data.count > 0, data.width > 0 else { return [:] }
        let limit = max(1, limit ?? importanceRows)
        let step = max(1, (data.count + limit - 1) / limit)
        var totals = [Double](repeating: 0, count: inputNames.count)
        var rows = 0
        var row = [Double](repeating: 0, count: data.width)
        for index in stride(from: 0, to: data.count, by: step) {
            for j in 0..<data.width { row[j] = data.columns[j][index] }
            let explanation = explain(encoded: row)
            for parts in explanation.contributions {
                for (input, value) in parts.enumerated() { totals[input] += abs(value) }
            }
            rows += 1
        }
        let scale = 1 / Double(rows * max(1, outputNames?.count ?? 1))
        return Dictionary(uniqueKeysWithValues: zip(inputNames, totals.map { $0 * scale }))
    }
}
