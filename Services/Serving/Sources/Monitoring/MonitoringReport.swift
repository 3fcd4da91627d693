import Foundation
import Learning

/// One version's drift and live performance over one window, as stored in
/// `monitoring_reports` / `monitoring_statistics` and shown by `GET /monitoring`.
struct MonitoringReport: Codable, Sendable {
    var id: Int64?
    let modelVersion: String
    let windowKind: String
    let windowSize: Double
    let windowStart: Date?
    let windowEnd: Date
    /// Instances (rows) the version answered in the window.
    let rows: Int
    let reference: String
    let features: [FeatureDrift]
    let prediction: FeatureDrift?
    /// The ground truth's drift from the training target (once feedback arrives).
    let label: FeatureDrift?
    let driftedFeatures: Int
    let driftShare: Double
    let datasetDrift: Bool
    /// Predictions in the window with ground truth, and the metrics they give.
    let labelled: Int
    let liveMetrics: [String: Double]
    let trainingMetrics: [String: Double]
    let durationMilliseconds: Double
    var computedAt: Date?

    enum CodingKeys: String, CodingKey {
        case id, rows, reference, features, prediction, label, labelled
        case modelVersion = "model_version"
        case windowKind = "window_kind"
        case windowSize = "window_size"
        case windowStart = "window_start"
        case windowEnd = "window_end"
        case driftedFeatures = "drifted_features"
        case driftShare = "drift_share"
        case datasetDrift = "dataset_drift"
        case liveMetrics = "live_metrics"
        case trainingMetrics = "training_metrics"
        case durationMilliseconds = "duration_ms"
        case computedAt = "computed_at"
    }
}

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
