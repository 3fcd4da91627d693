/// What a Python model answered for a batch of rows: a number per row
/// (regression, forecast) or a label per row and, when the module has
/// `predict_proba`, the class probabilities in the order of the classes sent.
public struct PythonPrediction: Sendable, Equatable {
    public var values: [Double]
    public var labels: [String]
    public var probabilities: [[Double]]?
    /// Rows (or steps) answered.
    public init(values: [Double], labels: [String], probabilities: [[Double]]?) {
        self.values = values
        self.labels = labels
        self.probabilities = probabilities
    }

    public var count: Int { labels.isEmpty ? values.count : labels.count }

    /// The answers of rows `range` (of a batch that coalesced several requests).
    public func slice(_ range: Range<Int>) -> PythonPrediction {
        PythonPrediction(
            values: values.isEmpty ? [] : Array(values[range]), labels: labels.isEmpty ? [] : Array(labels[range]),
            probabilities: probabilities.map { Array($0[range]) })
    }
}
