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
