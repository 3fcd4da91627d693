import Foundation
import Logging
import Metrics
import Postgres
import ServiceLifecycle
import Synchronization

/// One answered prediction, as stored in `prediction_log`.
public struct PredictionLogEntry: Sendable {
    public let loggedAt: Date
    public let requestID: String
    public let modelVersion: String
    /// JSON text of the inputs and the outputs.
    public let inputs: String
    public let outputs: String
    public let latencyMicroseconds: Int64
}

/// Writes predictions to Postgres off the request path: requests enqueue into
/// a bounded buffer, and this service drains it in batches with COPY. While
/// Postgres is unavailable the batch is retried with backoff and new entries
/// wait in the buffer; entries beyond its bound are counted as dropped.
public final class PredictionLog: Service, Sendable, CustomStringConvertible {
    public var description: String { "PredictionLog" }
    private let database: PostgresClient
    private let logger: Logger
    private let capacity: Int
    private let pending = Mutex<[PredictionLogEntry]>([])
    private let signals: AsyncStream<Void>
    private let signal: AsyncStream<Void>.Continuation
    private let dropped = Counter(label: "serving_prediction_log_dropped_total")
    private let written = Counter(label: "serving_prediction_log_written_total")
    private let depth = Gauge(label: "serving_prediction_log_queue_depth")
    static let batchSize = 5000

    public init(database: PostgresClient, capacity: Int = 100_000, logger: Logger) {
        self.database = database
        self.logger = logger
        self.capacity = capacity
        (signals, signal) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Enqueues an entry without waiting; drops it (counted) when full.
    public func record(_ entry: PredictionLogEntry) {
        let accepted = pending.withLock { queue in
            guard queue.count < capacity else { return false }
            queue.append(entry)
            return true
        }
        if accepted { signal.yield() } else { dropped.increment() }
    }

    /// Entries waiting to be written.
    public var queueDepth: Int { pending.withLock { $0.count } }

    public func run() async throws {
        // On shutdown stop waiting for signals, then flush what is left.
        await withGracefulShutdownHandler {
            for await _ in signals { await drain() }
        } onGracefulShutdown: { [signal] in
            signal.finish()
        }
        await drain()
    }

    private func drain() async {
        while true {
            let batch: [PredictionLogEntry] = pending.withLock { queue in
                let taken = Array(queue.prefix(Self.batchSize))
                queue.removeFirst(taken.count)
                return taken
            }
            depth.record(queueDepth)
            guard !batch.isEmpty else { return }
            await write(batch)
        }
    }

    /// Writes one batch with COPY, retrying with backoff until it lands.
    private func write(_ batch: [PredictionLogEntry]) async {
        let rows = batch.map { entry -> [String?] in
            [
                entry.loggedAt.postgresText, entry.requestID, entry.modelVersion, entry.inputs, entry.outputs,
                String(entry.latencyMicroseconds),
            ]
        }
        var attempt = 0
        while true {
            do {
                _ = try await database.withConnection { connection in
                    try connection.copyIn(
                        table: "prediction_log",
                        columns: ["logged_at", "request_id", "model_version", "inputs", "outputs", "latency_us"],
                        rows: rows)
                }
                written.increment(by: rows.count)
                return
            } catch {
                attempt += 1
                if attempt == 1 || attempt % 20 == 0 {
                    logger.warning(
                        "prediction log write failed; retrying",
                        metadata: ["error": "\(error)", "pending": "\(rows.count + queueDepth)"])
                }
                try? await Task.sleep(for: .milliseconds(min(5_000, 100 * attempt)))
            }
        }
    }
}
