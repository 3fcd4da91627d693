import Metrics

/// Serving's counters that exist before their first event, so alert rules
/// and the dashboard find every series from the first scrape.
enum ServingMetrics {
    static func declare() {
        PredictionRejections.declare()
        for label in [
            "conveyor_model_swaps_total", "conveyor_model_load_failures_total", "conveyor_model_evictions_total",
            "conveyor_prediction_log_dropped_total",
            "conveyor_prediction_log_written_total", "conveyor_prediction_log_spilled_batches_total",
            "conveyor_prediction_log_replayed_batches_total",
        ] {
            Counter(label: label).increment(by: 0)
        }
        for method in ["ModelInfer", "ModelMetadata", "ModelReady", "ServerLive", "ServerReady", "ServerMetadata"] {
            Counter(label: "conveyor_grpc_requests_total", dimensions: [("method", method), ("code", "OK")])
                .increment(by: 0)
        }
        artifactStoreReachable(true)
    }

    /// `conveyor_artifact_store_reachable`: 1 while the artifact store answers, 0 while
    /// serving cannot reach it (it keeps answering with the model it has loaded).
    static func artifactStoreReachable(_ reachable: Bool) {
        Gauge(label: "conveyor_artifact_store_reachable").record(reachable ? 1 : 0)
    }
}
