/// One condition of `monitoring.rollback_when`: when it trips on the live
/// version, the trainer rolls back to the previous good version.
public struct RollbackRule: Sendable, Equatable {
    /// What the rule reads.
    public enum Measure: Sendable, Equatable {
        /// A live metric from predictions joined with ground truth (`live_rmse`, `live_accuracy`, …).
        case liveMetric(String)
        /// The share of drifting features.
        case driftShare
        /// Whether the prediction drifted (1) or not (0).
        case predictionDrift
        /// The 99th percentile of logged prediction latency, in milliseconds.
        case p99LatencyMilliseconds
    }

    /// The key as written in conveyor.yaml.
    public let name: String
    public let measure: Measure
    public let max: Double?
    public let min: Double?
    /// Fewest labelled predictions (live metrics) or predictions (others) before the rule may trip (default 1).
    public let minSamples: Int

    /// Live metrics a rule may name (after `live_`).
    public static let liveMetrics: Set<String> = [
        "rmse", "mae", "r2", "accuracy", "precision", "recall", "f1", "log_loss",
    ]

    /// Whether `value` is past the bound.
    public func trips(_ value: Double) -> Bool {
        if let max, value > max { return true }
        if let min, value < min { return true }
        return false
    }

    /// The bound as text, for reasons and reports ("max 4", "min 0.8").
    public var boundText: String {
        [max.map { "max \(Self.format($0))" }, min.map { "min \(Self.format($0))" }].compactMap { $0 }
            .joined(separator: ", ")
    }

    public static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}
