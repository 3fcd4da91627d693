import Foundation
import Learning
import Postgres

/// Turns one version's aggregate rows into its report: per-feature drift,
/// the prediction's drift, the dataset verdict and live metrics.
struct ReportBuilder {
    let model: MonitoredVersion
    let window: MonitoringWindow
    let start: Date
    let end: Date
    let elapsed: Double

    func build(bins: [BinCount], labelled: [PostgresRow], labels: [PostgresRow]) throws -> MonitoringReport {
        var live: [String: LiveBins] = [:]
        var rowsByFeature: [String: Int] = [:]
        for bin in bins {
            rowsByFeature[bin.column, default: 0] += bin.count
            guard let bucket = bin.bucket else { continue }
            var entry = live[bin.column] ?? LiveBins()
            if let index = Int(bucket), model.monitored.contains(where: { $0.name == bin.column && !$0.categorical }) {
                entry.counts[index, default: 0] += bin.count
                entry.sums[index, default: 0] += bin.sum ?? 0
                entry.outOfRange += bin.outside
            } else {
                entry.categories[bucket, default: 0] += bin.count
            }
            live[bin.column] = entry
        }
        // Every answered instance has a prediction: its count is the window's rows; a
        // feature's count below it is its missing values.
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
        let labelDrift = try self.labelDrift(labels)
        let metrics =
            artifact.classes.map { LiveMetrics.classification(groups, classes: $0) } ?? LiveMetrics.regression(groups)
        return MonitoringReport(
            modelVersion: artifact.version, windowKind: window.kind, windowSize: window.size,
            windowStart: rows == 0 && window.last != nil ? nil : start, windowEnd: end, rows: rows,
            reference: model.reference, features: features, prediction: prediction, label: labelDrift,
            driftedFeatures: drifted,
            driftShare: share, datasetDrift: rows > 0 && !features.isEmpty && share >= model.spec.resolvedDriftShare,
            labelled: groups.reduce(0) { $0 + $1.count }, liveMetrics: metrics, trainingMetrics: artifact.metrics,
            durationMilliseconds: elapsed)
    }

    /// Label drift: the window's ground truth against the training target.
    private func labelDrift(_ rows: [PostgresRow]) throws -> FeatureDrift? {
        guard let target = model.artifact.targetReference, !rows.isEmpty else { return nil }
        var live = LiveBins()
        var total = 0
        for row in rows {
            let count: Int = try row.decode("n")
            total += count
            guard let bucket = try row.decodeIfPresent("bucket", as: String.self) else { continue }
            if target.frequencies != nil {
                live.categories[bucket, default: 0] += count
            } else if let bin = Int(bucket) {
                live.counts[bin, default: 0] += count
                live.sums[bin, default: 0] += try row.decodeIfPresent("total", as: Double.self) ?? 0
            }
        }
        return target.frequencies != nil
            ? DriftAnalysis.categorical("label", reference: target, live: live, rows: total, test: nil)
            : DriftAnalysis.numeric("label", reference: target, live: live, rows: total, test: nil)
    }
}
