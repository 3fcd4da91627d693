import Metrics

/// The pool's gauges on `/metrics`: `conveyor_db_connections_in_use`,
/// `conveyor_db_connection_waiters` (callers waiting for a free connection) and
/// `conveyor_db_reconnects_total` (dead connections replaced: a server restart
/// or a dropped socket, counted by the pool and by the `LISTEN` connection).
struct PostgresPoolMetrics: Sendable {
    private let inUse = Gauge(label: "conveyor_db_connections_in_use")
    private let waiting = Gauge(label: "conveyor_db_connection_waiters")
    private let reconnects = Counter(label: "conveyor_db_reconnects_total")

    func publish(inUse: Int, waiting: Int) {
        self.inUse.record(inUse)
        self.waiting.record(waiting)
    }

    func reconnected() { reconnects.increment() }
}
