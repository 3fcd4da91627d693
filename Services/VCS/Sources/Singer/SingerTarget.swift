import Foundation
import JSON
import Logging
import Postgres

/// A Singer target writing to Postgres (the layout of the target-postgres
/// loader). Records are buffered per stream and merged in one transaction per
/// batch; a STATE message is stored in `singer_state` in the transaction of
/// the records before it, so the bookmark never runs ahead of the data.
/// Owned by one task at a time (not shared).
public final class SingerTarget {
    let database: PostgresClient
    let loader: SingerPostgresLoader
    let stateKey: String
    let batchSize: Int
    let logger: Logger
    /// Called with each STATE value once it is committed (`vcs target` echoes it).
    var committedState: ((JSONValue) -> Void)?
    /// A record holding text Postgres could only store altered (a NUL) stops the load, as in
    /// datamill (`vcs target`); false rejects that record alone, named and counted like a schema
    /// violation (the GitHub sync: one odd pull request must not hold up every other).
    let stopsOnAlteredText: Bool
    public private(set) var summary = TargetSummary()

    private var layouts: [String: SingerTableLayout] = [:]
    private var buffers: [String: [FlatRecord]] = [:]
    private var buffered = 0
    private var pendingState: JSONValue?
    private var receivedText: String?
    private var receivedSecond = 0.0

    public init(
        database: PostgresClient, loader: SingerPostgresLoader, stateKey: String, batchSize: Int = 5000,
        stopsOnAlteredText: Bool = true, logger: Logger
    ) {
        self.stopsOnAlteredText = stopsOnAlteredText
        self.database = database
        self.loader = loader
        self.stateKey = stateKey
        self.batchSize = batchSize
        self.logger = logger
    }

    /// Handles one message (`line`: its line in the stream, for errors); loads when a batch is full.
    public func handle(_ message: SingerMessage, line: Int? = nil, isolation: isolated (any Actor)? = #isolation)
        async throws
    {
        switch message {
        case .schema(let stream, let schema, let keys, _, let keyOrder):
            let layout = try SingerTableLayout(stream: stream, schema: schema, keyProperties: keys, keyOrder: keyOrder)
            if let previous = layouts[stream], previous != layout { try await flush() }
            layouts[stream] = layout
        case .record(let stream, let record, let timeExtracted, let version):
            guard let layout = layouts[stream] else {
                throw SingerMessage.ParseError(line: line, problem: "RECORD for stream \"\(stream)\" before its SCHEMA")
            }
            summary.records += 1
            do {
                let flat = try layout.flatten(
                    record, sequence: sequence(extractedAt: timeExtracted),
                    receivedAt: timeExtracted ?? receivedAt(), tableVersion: version)
                buffers[stream, default: []].append(flat)
                buffered += 1
            } catch let rejection as RecordRejection where rejection.stopsTheLoad && stopsOnAlteredText {
                throw SingerMessage.ParseError(
                    line: line, problem: "\(rejection); refused, nothing of its batch is kept")
            } catch let rejection as RecordRejection {
                summary.rejected += 1
                if summary.rejections.count < 20 { summary.rejections.append(rejection.description) }
                logger.error(
                    "rejected record",
                    metadata: [
                        "stream": "\(rejection.stream)", "key": "\(rejection.key)", "field": "\(rejection.field)",
                        "problem": "\(rejection.problem)",
                    ])
            }
            if buffered >= batchSize { try await flush() }
        case .state(let value):
            pendingState = value
        case .activateVersion:
            break  // Full-table replication is not used; versions are recorded in _sdc_table_version.
        }
    }

    /// Loads what is buffered and stores the last STATE with it.
    public func flush(isolation: isolated (any Actor)? = #isolation) async throws {
        guard buffered > 0 || pendingState != nil else { return }
        let batches = buffers.compactMap { stream, records in layouts[stream].map { ($0, records) } }
        let state = pendingState
        let stateJSON = try state.map { try PostgresJSON(encoding: $0) }
        let stateKey = self.stateKey
        let loader = self.loader
        do {
            let loaded = try await database.transaction { connection in
                var loaded = SingerLoadResult()
                for (layout, records) in batches {
                    do {
                        loaded.add(try loader.load(records, layout: layout, on: connection))
                    } catch let error as PostgresError where !error.isDataError {
                        throw SingerStreamLoadError(stream: layout.stream, error: error)
                    }
                }
                if let stateJSON {
                    try connection.query(
                        """
                        INSERT INTO singer_state (tap, state, updated_at) VALUES (\(stateKey), \(stateJSON)::jsonb, now())
                        ON CONFLICT (tap) DO UPDATE SET state = EXCLUDED.state, updated_at = now()
                        """)
                }
                return loaded
            }
            record(loaded)
        } catch let error as PostgresError where error.isDataError {
            // Postgres refused a value the schema allowed (SQLSTATE class 22/23): load the
            // records one by one so only the offending ones are rejected, and the bookmark moves.
            loader.reset()
            logger.warning(
                "a batch was refused as data; loading its records one by one", metadata: ["error": "\(error)"])
            let (loaded, refused) = try await loadOneByOne(batches, stateJSON: stateJSON)
            record(loaded)
            for (key, problem) in refused {
                summary.rejected += 1
                let text = "stream and key \(key): \(problem)"
                if summary.rejections.count < 20 { summary.rejections.append(text) }
                logger.error("rejected record", metadata: ["key": "\(key)", "problem": "\(problem)"])
            }
        } catch {
            loader.reset()
            throw error
        }
        if buffered > 0 { summary.batches += 1 }
        buffers.removeAll(keepingCapacity: true)
        buffered = 0
        pendingState = nil
        if let state { committedState?(state) }
    }

    /// Counts what a batch wrote, and says so when stored rows were newer than records of the batch.
    private func record(_ loaded: SingerLoadResult) {
        summary.upserted += loaded.upserted
        VCSMetrics.singerRows(loaded.rowsByTable)
        guard !loaded.superseded.isEmpty else { return }
        summary.superseded += loaded.superseded.values.reduce(0, +)
        logger.info(
            "kept stored rows extracted later than records of the batch",
            metadata: ["records_by_table": "\(loaded.superseded)"])
    }

    /// Loads each record under its own savepoint, in one transaction with the
    /// STATE; returns what was loaded and the refused ones' keys and reasons.
    private func loadOneByOne(
        _ batches: [(SingerTableLayout, [FlatRecord])], stateJSON: PostgresJSON?,
        isolation: isolated (any Actor)? = #isolation
    ) async throws -> (SingerLoadResult, [(String, String)]) {
        let stateKey = self.stateKey
        let loader = self.loader
        do {
            return try await database.transaction { connection in
                var loaded = SingerLoadResult()
                var refused: [(String, String)] = []
                for (layout, records) in batches {
                    try loader.prepare(layout, on: connection)
                    for record in records {
                        try connection.execute("SAVEPOINT singer_record")
                        do {
                            loaded.add(try loader.load([record], layout: layout, on: connection))
                            try connection.execute("RELEASE SAVEPOINT singer_record")
                        } catch let error as PostgresError where error.isDataError {
                            try connection.execute("ROLLBACK TO SAVEPOINT singer_record")
                            refused.append(
                                ("\(layout.stream) \(record.key.joined(separator: ","))", error.description))
                        }
                    }
                }
                if let stateJSON {
                    try connection.query(
                        """
                        INSERT INTO singer_state (tap, state, updated_at) VALUES (\(stateKey), \(stateJSON)::jsonb, now())
                        ON CONFLICT (tap) DO UPDATE SET state = EXCLUDED.state, updated_at = now()
                        """)
                }
                return (loaded, refused)
            }
        } catch {
            loader.reset()
            throw error
        }
    }

    /// `_sdc_sequence` of a record, in seconds since 1970 as datamill writes
    /// it: when it was extracted from the source (its `time_extracted`), so
    /// the later observation of GitHub wins however late a page is loaded; the
    /// load time for records without one. Which version of a key wins is
    /// decided by `_sdc_received_at` first (see `SingerPostgresLoader.load`).
    private func sequence(extractedAt text: String?) -> Int64 {
        guard let text, let date = Date(postgresText: text) else { return Self.sequenceNow() }
        return Int64(date.timeIntervalSince1970.rounded(.down))
    }

    /// The `_sdc_sequence` of a record received now (seconds since 1970).
    static func sequenceNow() -> Int64 { Int64(Date().timeIntervalSince1970.rounded(.down)) }

    /// `_sdc_received_at`, formatted at most once a millisecond.
    private func receivedAt() -> String? {
        let now = Date().timeIntervalSince1970
        if now - receivedSecond >= 0.001 {
            receivedSecond = now
            receivedText = Date(timeIntervalSince1970: now).postgresText
        }
        return receivedText
    }
}
