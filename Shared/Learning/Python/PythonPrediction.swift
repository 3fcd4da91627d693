/// What a Python model answered for a batch of rows: a number per row
/// (regression, forecast) or a label per row and, when the module has
/// `predict_proba`, the class probabilities in the order of the classes sent.
public struct PythonPrediction: Sendable, Equatable {
    public var values: [Double]
    public var labels: [String]
    public var probabilities: [[Double]]?
    /// Rows (or steps) answered.
    public var count: Int { labels.isEmpty ? values.count : labels.count }
}
