import Metrics
import Registry

/// What the trainer exports about its work (besides the HTTP counters every service has).
enum TrainerMetrics {
    /// `conveyor_runs_total{kind,outcome}` and, per stage the run reached, `conveyor_run_stage_seconds{stage}`.
    static func run(kind: RunKind, outcome: RunOutcome, timings: [String: Double]) {
        Counter(label: "conveyor_runs_total", dimensions: [("kind", kind.rawValue), ("outcome", outcome.rawValue)])
            .increment()
        for (stage, seconds) in timings where seconds.isFinite && seconds >= 0 {
            Timer(label: "conveyor_run_stage_seconds", dimensions: [("stage", stage)]).recordSeconds(seconds)
        }
    }

    /// `conveyor_run_gate_rejections_total{gate}`: each gate that refused a model
    /// (`rmse.max`, `no_regression`, `shadow.max_mismatch`…; names come from the gate kinds
    /// and Conveyor's metric names, so the label set stays small).
    static func rejected(gates: [String]) {
        for gate in Set(gates) {
            Counter(label: "conveyor_run_gate_rejections_total", dimensions: [("gate", gate)]).increment()
        }
    }

    /// `conveyor_run_failures_total{stage}`: the `TrainingStage` a failed run stopped in.
    static func failed(stage: TrainingStage) {
        Counter(label: "conveyor_run_failures_total", dimensions: [("stage", stage.rawValue)]).increment()
    }

    /// `conveyor_run_lease_takeovers_total`: runs this trainer took over from one that stopped renewing its lease.
    static func leaseTakeover() {
        Counter(label: "conveyor_run_lease_takeovers_total").increment()
    }

    /// `conveyor_notifications_total{channel,result}`: webhook or email, sent or failed.
    static func notification(channel: String, sent: Bool) {
        Counter(
            label: "conveyor_notifications_total",
            dimensions: [("channel", channel), ("result", sent ? "sent" : "failed")]
        ).increment()
    }

    /// Creates the counters at zero, so rules and dashboards see every series
    /// from the first scrape (`rate()` of a series that appears later misses its first increase).
    static func declare() {
        for kind in [RunKind.merge, .retrain, .preview] {
            for outcome in [RunOutcome.succeeded, .rejected, .failed, .cancelled] {
                Counter(
                    label: "conveyor_runs_total", dimensions: [("kind", kind.rawValue), ("outcome", outcome.rawValue)]
                )
                .increment(by: 0)
            }
        }
        Counter(label: "conveyor_run_lease_takeovers_total").increment(by: 0)
        for channel in ["webhook", "email"] {
            for result in ["sent", "failed"] {
                Counter(label: "conveyor_notifications_total", dimensions: [("channel", channel), ("result", result)])
                    .increment(by: 0)
            }
        }
    }
}
