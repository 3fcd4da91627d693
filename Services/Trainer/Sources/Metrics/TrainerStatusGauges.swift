import Foundation
import Logging
import Metrics
import Postgres
import ServiceKit
import ServiceLifecycle

/// The gauges that describe the fleet rather than this process, read from
/// Postgres every `interval` (so every replica reports the same, and a run
/// that blocks the worker does not freeze them): queue depth and the oldest
/// queued run's wait, failed runs in a row, and each model's live version as
/// an info metric (one series per model).
struct TrainerStatusGauges: Service, CustomStringConvertible {
    var description: String { "TrainerStatusGauges" }

    let store: TrainingStore
    let interval: Duration
    let logger: Logger
    private let deployedInfo = DeployedModelGauges()

    /// `runTimeout` is published as `conveyor_run_timeout_seconds`, so an alert can
    /// compare the queue's oldest wait with it.
    init(store: TrainingStore, interval: Duration, runTimeout: Duration, logger: Logger) {
        self.store = store
        self.interval = interval
        self.logger = logger
        Gauge(label: "conveyor_run_timeout_seconds").record(runTimeout.inSeconds)
    }

    func run() async throws {
        try? await refresh()
        await PeriodicWork.run(every: interval, logger: logger, failure: "could not refresh the status gauges") {
            try await refresh()
        }
    }

    /// Reads the status once and records it.
    func refresh() async throws {
        let status = try await store.status()
        Gauge(label: "conveyor_run_queue_depth").record(status.queueDepth)
        Gauge(label: "conveyor_run_queue_oldest_seconds").record(status.oldestQueuedSeconds)
        Gauge(label: "conveyor_runs_failed_in_a_row").record(status.failedInARow)
        deployedInfo.set(status.deployed)
    }
}
