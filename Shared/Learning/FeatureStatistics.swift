import Crypto
import Foundation

/// Summary of one input in the training data, for drift checks: numbers get
/// moments and deciles, categories their frequencies.
public struct FeatureStatistics: Codable, Sendable, Equatable {
    public var count: Int
    /// Rows where the value was missing (kept as missing for tree models).
    public var missing: Int
    public var mean: Double?
    public var std: Double?
    public var min: Double?
    public var max: Double?
    /// The 0, 10, …, 100th percentiles.
    public var deciles: [Double]?
    /// The training values binned by their percentiles, for drift tests;
    /// absent in artifacts trained before monitoring (drift then bins by `deciles`).
    public var histogram: Histogram?
    /// How many training rows had each category.
    public var frequencies: [String: Int]?

    /// Statistics of a numeric column (NaN counts as missing).
    public init(values: [Double]) {
        let sorted = values.filter { !$0.isNaN }.sorted()
        count = values.count
        missing = values.count - sorted.count
        guard !sorted.isEmpty else { return }
        let average = sorted.reduce(0, +) / Double(sorted.count)
        mean = average
        std = (sorted.reduce(0) { $0 + ($1 - average) * ($1 - average) } / Double(sorted.count)).squareRoot()
        min = sorted.first
        max = sorted.last
        deciles = (0...10).map { sorted[Swift.min(sorted.count - 1, $0 * (sorted.count - 1) / 10)] }
        histogram = Histogram(sorted: sorted)
    }

    /// Linear interpolation between order statistics (numpy's default).
    static func quantile(_ sorted: [Double], _ fraction: Double) -> Double {
        let position = fraction * Double(sorted.count - 1)
        let lower = Int(position.rounded(.down))
        let upper = Swift.min(sorted.count - 1, lower + 1)
        return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - Double(lower))
    }

    /// Statistics of a categorical feature.
    public init(frequencies: [String: Int], rows: Int) {
        count = rows
        missing = rows - frequencies.values.reduce(0, +)
        self.frequencies = frequencies
    }

    /// Statistics of a target (or of predictions): values for regression,
    /// label counts for classification (`values` hold class indices).
    public static func target(_ values: [Double], classes: [String]?) -> FeatureStatistics {
        guard let classes else { return FeatureStatistics(values: values) }
        var frequencies: [String: Int] = [:]
        for value in values where Int(value) >= 0 && Int(value) < classes.count {
            frequencies[classes[Int(value)], default: 0] += 1
        }
        return FeatureStatistics(frequencies: frequencies, rows: values.count)
    }

    /// Reference statistics for every feature of an encoded dataset.
    public static func reference(features: [FeatureSpec], data: Dataset) -> [String: FeatureStatistics] {
        var reference: [String: FeatureStatistics] = [:]
        var column = 0
        for feature in features {
            if feature.type == .categorical {
                var frequencies: [String: Int] = [:]
                for (position, category) in (feature.categories ?? []).enumerated() {
                    frequencies[category] = Int(data.columns[column + position].reduce(0, +))
                }
                reference[feature.name] = FeatureStatistics(frequencies: frequencies, rows: data.count)
            } else {
                reference[feature.name] = FeatureStatistics(values: data.columns[column])
            }
            column += feature.width
        }
        return reference
    }
}
