/// Regression quality measures.
public enum RegressionMetrics {
    /// Root mean squared error.
    public static func rmse(_ truth: [Double], _ predicted: [Double]) -> Double {
        precondition(truth.count == predicted.count && !truth.isEmpty)
        var sum = 0.0
        for (t, p) in zip(truth, predicted) { sum += (t - p) * (t - p) }
        return (sum / Double(truth.count)).squareRoot()
    }

    /// Mean absolute error.
    public static func mae(_ truth: [Double], _ predicted: [Double]) -> Double {
        precondition(truth.count == predicted.count && !truth.isEmpty)
        return zip(truth, predicted).reduce(0) { $0 + abs($1.0 - $1.1) } / Double(truth.count)
    }

    /// Coefficient of determination (1 is perfect, 0 is the mean's quality).
    public static func r2(_ truth: [Double], _ predicted: [Double]) -> Double {
        let mean = truth.reduce(0, +) / Double(truth.count)
        let total = truth.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
        let residual = zip(truth, predicted).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
        return total == 0 ? (residual == 0 ? 1 : 0) : 1 - residual / total
    }

    /// All of the above by name, as recorded in artifacts and gates.
    public static func all(_ truth: [Double], _ predicted: [Double]) -> [String: Double] {
        ["rmse": rmse(truth, predicted), "mae": mae(truth, predicted), "r2": r2(truth, predicted)]
    }

    /// Whether a larger value of the metric is better.
    public static func higherIsBetter(_ metric: String) -> Bool {
        ["r2", "accuracy", "f1", "precision", "recall", "auc"].contains(metric)
    }
}
