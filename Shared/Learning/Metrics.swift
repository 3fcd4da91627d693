import Foundation

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

    /// Mean absolute percentage error, in percent, over the rows whose truth is not 0 (nil if none).
    public static func mape(_ truth: [Double], _ predicted: [Double]) -> Double? {
        let pairs = zip(truth, predicted).filter { $0.0 != 0 }
        guard !pairs.isEmpty else { return nil }
        return 100 * pairs.reduce(0) { $0 + abs(($1.0 - $1.1) / $1.0) } / Double(pairs.count)
    }

    /// Symmetric MAPE, in percent (0–200); a row where both are 0 counts as 0.
    public static func smape(_ truth: [Double], _ predicted: [Double]) -> Double {
        precondition(truth.count == predicted.count && !truth.isEmpty)
        let sum = zip(truth, predicted).reduce(0.0) { sum, pair in
            let denominator = abs(pair.0) + abs(pair.1)
            return sum + (denominator == 0 ? 0 : 2 * abs(pair.0 - pair.1) / denominator)
        }
        return 100 * sum / Double(truth.count)
    }

    /// All of the above by name, as recorded in artifacts and gates.
    public static func all(_ truth: [Double], _ predicted: [Double]) -> [String: Double] {
        var metrics = [
            "rmse": rmse(truth, predicted), "mae": mae(truth, predicted), "r2": r2(truth, predicted),
            "smape": smape(truth, predicted),
        ]
        metrics["mape"] = mape(truth, predicted)
        return metrics
    }

    /// Whether a larger value of the metric is better.
    public static func higherIsBetter(_ metric: String) -> Bool {
        ["r2", "accuracy", "f1", "precision", "recall", "roc_auc"].contains(metric)
    }
}

/// Classification quality measures over class indices and predicted probabilities.
public enum ClassificationMetrics {
    /// `matrix[t][p]`: how many rows of true class `t` were predicted as `p`.
    public static func confusionMatrix(_ truth: [Int], _ predicted: [Int], classes: Int) -> [[Int]] {
        var matrix = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
        for (t, p) in zip(truth, predicted) { matrix[t][p] += 1 }
        return matrix
    }

    public static func accuracy(_ truth: [Int], _ predicted: [Int]) -> Double {
        precondition(truth.count == predicted.count && !truth.isEmpty)
        return Double(zip(truth, predicted).filter { $0 == $1 }.count) / Double(truth.count)
    }

    /// Macro-averaged precision, recall and F1 (each class weighs the same; a
    /// class never predicted has precision 0, as scikit-learn's `zero_division=0`).
    public static func macro(_ confusion: [[Int]]) -> (precision: Double, recall: Double, f1: Double) {
        let classes = confusion.count
        var precision = 0.0
        var recall = 0.0
        var f1 = 0.0
        for k in 0..<classes {
            let truePositives = Double(confusion[k][k])
            let predicted = Double((0..<classes).reduce(0) { $0 + confusion[$1][k] })
            let actual = Double(confusion[k].reduce(0, +))
            let p = predicted > 0 ? truePositives / predicted : 0
            let r = actual > 0 ? truePositives / actual : 0
            precision += p
            recall += r
            f1 += p + r > 0 ? 2 * p * r / (p + r) : 0
        }
        let count = Double(max(1, classes))
        return (precision / count, recall / count, f1 / count)
    }

    /// Mean negative log-likelihood of the true class (probabilities clipped at 1e-15).
    public static func logLoss(_ truth: [Int], probabilities: [[Double]]) -> Double {
        precondition(truth.count == probabilities.count && !truth.isEmpty)
        let total = zip(truth, probabilities).reduce(0.0) { $0 - log(min(1 - 1e-15, max(1e-15, $1.1[$1.0]))) }
        return total / Double(truth.count)
    }

    /// Area under the ROC curve for two classes: the probability that a random
    /// positive scores above a random negative (ties count half). Nil when one
    /// class is absent.
    public static func rocAUC(_ truth: [Int], scores: [Double]) -> Double? {
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        let positives = Double(truth.filter { $0 == 1 }.count)
        let negatives = Double(truth.count) - positives
        guard positives > 0, negatives > 0 else { return nil }
        // Sum of the positives' ranks, with tied scores sharing their average rank.
        var rankSum = 0.0
        var start = 0
        while start < order.count {
            var end = start
            while end + 1 < order.count, scores[order[end + 1]] == scores[order[start]] { end += 1 }
            let averageRank = Double(start + end) / 2 + 1
            for position in start...end where truth[order[position]] == 1 { rankSum += averageRank }
            start = end + 1
        }
        return (rankSum - positives * (positives + 1) / 2) / (positives * negatives)
    }

    /// Every scalar metric by name; `roc_auc` only for two classes.
    public static func all(_ truth: [Int], probabilities: [[Double]], classes: Int) -> [String: Double] {
        let predicted = probabilities.map { row in row.indices.max { row[$0] < row[$1] } ?? 0 }
        let confusion = confusionMatrix(truth, predicted, classes: classes)
        let (precision, recall, f1) = macro(confusion)
        var metrics = [
            "accuracy": accuracy(truth, predicted), "precision": precision, "recall": recall, "f1": f1,
            "log_loss": logLoss(truth, probabilities: probabilities),
        ]
        if classes == 2 { metrics["roc_auc"] = rocAUC(truth, scores: probabilities.map { $0[1] }) }
        return metrics
    }
}
