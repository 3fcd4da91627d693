import Metrics

/// What the trainer exports about its work (besides the HTTP counters every service has).
enum TrainerMetrics {
    /// `conveyor_runs_total{outcome}` and, per stage the run reached, `conveyor_run_stage_seconds{stage}`.
    static func run(outcome: RunOutcome, timings: [String: Double]) {
        Counter(label: "conveyor_runs_total", dimensions: [("outcome", outcome.rawValue)]).increment()
        for (stage, seconds) in timings where seconds.isFinite && seconds >= 0 {
            Timer(label: "conveyor_run_stage_seconds", dimensions: [("stage", stage)]).recordSeconds(seconds)
        }
    }

    /// `conveyor_notifications_total{channel,result}`: webhook or email, sent or failed.
    static func notification(channel: String, sent: Bool) {
        Counter(
            label: "conveyor_notifications_total",
            dimensions: [("channel", channel), ("result", sent ? "sent" : "failed")]
        ).increment()
    }

    /// `conveyor_run_queue_depth` and `conveyor_run_queue_oldest_seconds` (0 when nothing waits).
    static func queue(depth: Int, oldestSeconds: Double) {
        Gauge(label: "conveyor_run_queue_depth").record(depth)
        Gauge(label: "conveyor_run_queue_oldest_seconds").record(oldestSeconds)
    }
}
