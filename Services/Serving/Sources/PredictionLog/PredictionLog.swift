import Foundation
import Logging
import Metrics
import Postgres
import ServiceKit
import ServiceLifecycle
import Synchronization

/// Writes predictions to Postgres off the request path: requests enqueue into
/// a bounded buffer, and this service drains it in batches with COPY. A batch
/// that Postgres does not take is spilled to a local file at once (so the
/// buffer keeps draining during an outage) and replayed when Postgres is back;
/// replay skips request ids already stored, so every prediction is logged once.
public final class PredictionLog: Service, Sendable, CustomStringConvertible {
    public var description: String { "PredictionLog" }
    private let database: PostgresClient
    private let spill: PredictionSpill
    private let logger: Logger
    private let capacity: Int
    private let pending = Mutex<[PredictionLogEntry]>([])
    private let outage = Atomic<Bool>(false)
    private let signals: AsyncStream<Void>
    private let signal: AsyncStream<Void>.Continuation
    private let dropped = Counter(label: "conveyor_prediction_log_dropped_total")
    private let written = Counter(label: "conveyor_prediction_log_written_total")
    private let spilled = Counter(label: "conveyor_prediction_log_spilled_batches_total")
    private let replayed = Counter(label: "conveyor_prediction_log_replayed_batches_total")
    private let depth = Gauge(label: "conveyor_prediction_log_queue_depth")
    private let spillFiles = Gauge(label: "conveyor_prediction_log_spill_files")
    static let batchSize = 5000
    static let columns = [
        "logged_at", "request_id", "model_version", "inputs", "outputs", "latency_us", "token_name",
    ]
    /// The columns of batches spilled before `token_name` was logged (replayed as they are).
    static let columnsBeforeTokens = Array(columns.dropLast())

    public init(database: PostgresClient, spillDirectory: URL, capacity: Int = 100_000, logger: Logger) throws {
        self.database = database
        self.spill = try PredictionSpill(directory: spillDirectory)
        self.logger = logger
        self.capacity = capacity
        (signals, signal) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Enqueues an entry without waiting; drops it (counted) only when the
    /// buffer is full, which spilling makes unlikely.
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
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.replayLoop() }
            // On shutdown stop waiting for signals, then flush what is left.
            await withGracefulShutdownHandler {
                for await _ in signals {
                    // Let a batch gather: under load, one COPY per wake-up was one per request.
                    try? await Task.sleep(for: .milliseconds(50))
                    await drain()
                }
            } onGracefulShutdown: { [signal] in
                signal.finish()
            }
            await drain()
            group.cancelAll()
        }
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

    /// Writes one batch with COPY; spills it to a file when Postgres fails.
    private func write(_ batch: [PredictionLogEntry]) async {
        var encoded: [UInt8] = []
        encoded.reserveCapacity(batch.count * 256)
        for entry in batch {
            CopyTextFormat.append(
                row: [
                    entry.loggedAt.postgresText, entry.requestID, entry.modelVersion, entry.inputs, entry.outputs,
                    String(entry.latencyMicroseconds), entry.tokenName,
                ], to: &encoded)
        }
        if !outage.load(ordering: .relaxed) {
            do {
                try await database.withConnection { [encoded] connection in
                    try connection.copyIn(table: "prediction_log", columns: Self.columns, encoded: encoded)
                }
                written.increment(by: batch.count)
                return
            } catch {
                outage.store(true, ordering: .relaxed)
                logger.warning(
                    "prediction log write failed; spilling batches to disk until Postgres is back",
                    metadata: ["error": "\(error)", "spill_directory": "\(spill.directory.path)"])
            }
        }
        do {
            try spill.write(encoded)
            spilled.increment()
        } catch {
            dropped.increment(by: batch.count)
            logger.error(
                "could not spill prediction log batch; entries lost",
                metadata: ["error": "\(error)", "entries": "\(batch.count)"])
        }
    }

    /// Replays spilled batches whenever there are some and Postgres answers.
    private func replayLoop() async {
        while !Task.isCancelled {
            let files = spill.pending()
            spillFiles.record(files.count)
            if !files.isEmpty {
                await replay(files)
            } else if outage.load(ordering: .relaxed), await ServiceHost.checkDatabase(database).isEmpty {
                outage.store(false, ordering: .relaxed)
            }
            try? await Task.sleep(for: .milliseconds(500))
        }
    }

    private func replay(_ files: [URL]) async {
        for file in files {
            guard let claim = spill.claim(file) else { continue }
            do {
                try await database.transaction { connection in
                    try connection.execute(
                        "CREATE TEMP TABLE prediction_log_replay (LIKE prediction_log INCLUDING DEFAULTS) ON COMMIT DROP"
                    )
                    let batchColumns = Self.columns(of: claim.bytes)
                    try connection.copyIn(table: "prediction_log_replay", columns: batchColumns, encoded: claim.bytes)
                    let columns = batchColumns.joined(separator: ", ")
                    try connection.execute(
                        """
                        INSERT INTO prediction_log (\(columns)) SELECT \(columns) FROM prediction_log_replay
                        ON CONFLICT (request_id, logged_at) DO NOTHING
                        """)
                }
                claim.finish()
                replayed.increment()
                if outage.exchange(false, ordering: .relaxed) {
                    logger.info("Postgres is back; replaying spilled prediction log batches")
                }
            } catch let error as PostgresError where error.isDataError {
                // Postgres will never take this batch: keep it aside for a person, keep replaying the rest.
                claim.quarantine()
                logger.error(
                    "a spilled prediction log batch was refused by Postgres and set aside",
                    metadata: ["error": "\(error)", "file": "\(file.lastPathComponent)"])
            } catch {
                claim.release()
                outage.store(true, ordering: .relaxed)
                return
            }
        }
        let left = spill.pending().count
        spillFiles.record(left)
        if left == 0 { logger.info("spilled prediction log batches replayed") }
    }

    /// The columns a spilled batch has: its first row's tab-separated fields (a row's text escapes
    /// tabs as `\t`), so batches spilled by an older version replay too.
    static func columns(of batch: [UInt8]) -> [String] {
        let firstRow = batch.prefix { $0 != UInt8(ascii: "\n") }
        let fields = firstRow.reduce(1) { $0 + ($1 == UInt8(ascii: "\t") ? 1 : 0) }
        return fields == columnsBeforeTokens.count ? columnsBeforeTokens : columns
    }
}
