import Foundation
import Learning

/// Live metrics from the SQL aggregates of predictions joined with ground truth.
enum LiveMetrics {
    /// One aggregate row: a (predicted, actual) pair's count for a
    /// classifier, or the regression sums (one row per version).
    struct Group: Sendable {
        let label: String?
        let actual: String?
        let count: Int
        let logLoss: Double?
        let squared: Double?
        let absolute: Double?
        let actualSum: Double?
        let actualSquares: Double?
    }

    static func regression(_ groups: [Group]) -> [String: Double] {
        let count = Double(groups.reduce(0) { $0 + $1.count })
        let squared = groups.compactMap(\.squared).reduce(0, +)
        let absolute = groups.compactMap(\.absolute).reduce(0, +)
        let sum = groups.compactMap(\.actualSum).reduce(0, +)
        let squares = groups.compactMap(\.actualSquares).reduce(0, +)
        guard count > 0 else { return [:] }
        var metrics = ["rmse": (squared / count).squareRoot(), "mae": absolute / count]
        let total = squares - sum * sum / count
        if total > 0 { metrics["r2"] = 1 - squared / total }
        return metrics
    }

    static func classification(_ groups: [Group], classes: [String]) -> [String: Double] {
        let count = groups.reduce(0) { $0 + $1.count }
        guard count > 0 else { return [:] }
        // The same confusion-matrix metrics training reported, for a side-by-side reading.
        let index = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: classes.count), count: classes.count)
        for group in groups {
            guard let actual = group.actual.flatMap({ index[$0] }), let label = group.label.flatMap({ index[$0] })
            else { continue }
            confusion[actual][label] += group.count
        }
        let correct = classes.indices.reduce(0) { $0 + confusion[$1][$1] }
        let (precision, recall, f1) = ClassificationMetrics.macro(confusion)
        return [
            "accuracy": Double(correct) / Double(count), "precision": precision, "recall": recall, "f1": f1,
            "log_loss": groups.compactMap(\.logLoss).reduce(0, +) / Double(count),
        ]
    }
}
