import Foundation
import Learning
import Postgres

/// Turns one version's aggregate rows into its report: per-feature drift,
/// the prediction's drift, the dataset verdict and live metrics.
struct ReportBuilder {
    let model: MonitoredVersion
    let window: MonitoringWindow
    let end: Date
    let elapsed: Double

    func build(bins: [PostgresRow], labelled: [PostgresRow]) throws -> MonitoringReport {
        var live: [String: LiveBins] = [:]
        var rowsByFeature: [String: Int] = [:]
        for row in bins {
            let feature: String = try row.decode("feature")
            let count: Int = try row.decode("n")
            rowsByFeature[feature, default: 0] += count
            guard let bucket = try row.decodeIfPresent("bucket", as: String.self) else { continue }
            var entry = live[feature] ?? LiveBins()
            if let bin = Int(bucket), model.monitored.contains(where: { $0.name == feature && !$0.categorical }) {
                entry.counts[bin, default: 0] += count
                entry.sums[bin, default: 0] += try row.decode("total", as: Double.self)
                entry.outOfRange += try row.decode("outside", as: Int.self)
            } else {
                entry.categories[bucket, default: 0] += count
            }
            live[feature] = entry
        }
        // Every answered instance has a prediction: its count is the window's rows.
        let rows = rowsByFeature[""] ?? 0
        var features: [FeatureDrift] = []
        var prediction: FeatureDrift?
        for (name, statistics, categorical) in model.monitored {
            let test = name.isEmpty ? model.spec.prediction : model.spec.features?[name]
            let bins = live[name] ?? LiveBins()
            let drift =
                categorical
                ? DriftAnalysis.categorical(
                    name.isEmpty ? "prediction" : name, reference: statistics, live: bins, rows: rows, test: test)
                : DriftAnalysis.numeric(
                    name.isEmpty ? "prediction" : name, reference: statistics, live: bins, rows: rows, test: test)
            guard let drift else { continue }
            if name.isEmpty { prediction = drift } else { features.append(drift) }
        }
        let drifted = features.filter(\.drifted).count
        let share = features.isEmpty ? 0 : Double(drifted) / Double(features.count)
        let groups = try labelled.map { row in
            LiveMetrics.Group(
                label: try row.decodeIfPresent("label"), actual: try row.decodeIfPresent("actual_label"),
                count: try row.decode("n"), logLoss: try row.decodeIfPresent("log_loss"),
                squared: try row.decodeIfPresent("squared"), absolute: try row.decodeIfPresent("absolute"),
                actualSum: try row.decodeIfPresent("actual_sum"),
                actualSquares: try row.decodeIfPresent("actual_squares"))
        }
        let artifact = model.artifact
        let metrics =
            artifact.classes.map { LiveMetrics.classification(groups, classes: $0) } ?? LiveMetrics.regression(groups)
        return MonitoringReport(
            modelVersion: artifact.version, windowKind: window.kind, windowSize: window.size,
            windowStart: window.minutes == nil ? nil : window.since(end), windowEnd: end, rows: rows,
            reference: model.reference, features: features, prediction: prediction, driftedFeatures: drifted,
            driftShare: share, datasetDrift: rows > 0 && !features.isEmpty && share >= model.spec.resolvedDriftShare,
            labelled: groups.reduce(0) { $0 + $1.count }, liveMetrics: metrics, trainingMetrics: artifact.metrics,
            durationMilliseconds: elapsed)
    }
}
