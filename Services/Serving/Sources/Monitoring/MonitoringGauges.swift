import Metrics

/// The reports as Prometheus gauges, labelled by model version:
/// `conveyor_feature_drift{feature,method}` (the deciding statistic),
/// `conveyor_feature_drifted{feature}`, `conveyor_dataset_drift_share`,
/// `conveyor_live_metric{metric}` and `conveyor_training_metric{metric}`,
/// `conveyor_monitored_rows` and `conveyor_labelled_rows`.
enum MonitoringGauges {
    static func set(_ reports: [MonitoringReport]) {
        for report in reports {
            let version = ("model_version", report.modelVersion)
            for drift in report.features + [report.prediction, report.label].compactMap({ $0 }) {
                Gauge(
                    label: "conveyor_feature_drift",
                    dimensions: [version, ("feature", drift.feature), ("method", drift.method.rawValue)]
                ).record(drift.value)
                Gauge(label: "conveyor_feature_drifted", dimensions: [version, ("feature", drift.feature)]).record(
                    drift.drifted ? 1 : 0)
            }
            Gauge(label: "conveyor_dataset_drift_share", dimensions: [version]).record(report.driftShare)
            Gauge(label: "conveyor_monitored_rows", dimensions: [version]).record(Double(report.rows))
            Gauge(label: "conveyor_labelled_rows", dimensions: [version]).record(Double(report.labelled))
            for (metric, value) in report.liveMetrics {
                Gauge(label: "conveyor_live_metric", dimensions: [version, ("metric", metric)]).record(value)
            }
            for (metric, value) in report.trainingMetrics {
                Gauge(label: "conveyor_training_metric", dimensions: [version, ("metric", metric)]).record(value)
            }
        }
    }
}
