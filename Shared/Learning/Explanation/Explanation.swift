/// Why a model answered what it did for one input: per output (the prediction, or each
/// class), the value expected with nothing known, and each input's exact Shapley
/// contribution on top of it. `baseValues[k] + Σ contributions[k]` is output `k`'s raw
/// value: the prediction for regression, the class's raw score for classification (its
/// log-odds for boosted trees and logistic regression, its probability for forests and
/// single trees, which average probabilities).
public struct Explanation: Sendable, Equatable {
    /// Per output: the expected raw value.
    public var baseValues: [Double]
    /// `contributions[output][input]`, inputs in `ModelExplainer.inputNames` order.
    public var contributions: [[Double]]

    public init(baseValues: [Double], contributions: [[Double]]) {
        self.baseValues = baseValues
        self.contributions = contributions
    }

    /// Per output, `base + Σ contributions` (the raw output the explanation adds up to).
    public var rawOutputs: [Double] {
        zip(baseValues, contributions).map { base, parts in parts.reduce(base, +) }
    }
}
