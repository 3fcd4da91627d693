import Foundation
import Logging
import Postgres
import ServiceKit
import ServiceLifecycle

/// Rolls the prediction log up as it grows: every complete 10-second
/// period is binned once, exactly as a report bins it (`BinsQuery`, per
/// period), into `prediction_rollups`, with its instance count in
/// `prediction_rollup_periods`; then `sealed_until` moves past it. Reports
/// sum sealed periods instead of parsing every logged request again: a
/// million of them cost seconds of JSON parsing (see `RollupCoverage`).
/// Periods that rows reach after sealing (a spill replay) are marked dirty by
/// the log's trigger and sealed again here.
///
/// Each chunk runs under an exclusive advisory lock that every insert into
/// the log takes shared (migration 16), so no row lands in a period between
/// its binning and its sealing unnoticed. Chunks adapt to about
/// `targetRows` rows so the log's writers never wait long.
public final class RollupSealer: Service, Sendable {
    let database: PostgresClient
    let monitor: DriftMonitor
    let interval: Duration
    let logger: Logger
    /// The lock inserts into the log take shared (conveyor_rollup_invalidate).
    static let lockKey: Int64 = 7263
    static let targetRows = 50_000
    static let maxPeriods = 360

    public init(database: PostgresClient, monitor: DriftMonitor, interval: Duration, logger: Logger) {
        self.database = database
        self.monitor = monitor
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        await PeriodicWork.run(every: interval, logger: logger, failure: "prediction log rollup failed") {
            try await self.catchUp()
        }
    }

    /// What one chunk did.
    enum Outcome: Sendable {
        /// Nothing was left to seal.
        case done
        /// Versions whose artifacts must be loaded before binning.
        case needs(Set<String>)
        /// Sealed `periods` periods holding `rows` logged requests; `more` when some remain.
        case sealed(periods: Int, rows: Int, more: Bool)
    }

    /// Seals every complete period not sealed yet; returns how many periods it sealed.
    @discardableResult
    func catchUp() async throws -> Int {
        var known: [String: MonitoredVersion?] = [:]
        var length = 6
        var sealed = 0
        while !Task.isCancelled {
            let versions = known.compactMapValues { $0 }
            let skipped = Set(known.filter { $0.value == nil }.keys)
            switch try await sealChunk(periods: length, versions: versions, skipped: skipped) {
            case .done:
                return sealed
            case .needs(let missing):
                for version in missing { known[version] = .some(try await monitor.version(version)) }
            case .sealed(let periods, let rows, let more):
                sealed += periods
                guard more else { return sealed }
                // About targetRows rows a chunk: at 50 requests a second an hour of periods, at 10,000 one.
                length = max(1, min(Self.maxPeriods, rows == 0 ? Self.maxPeriods : length * Self.targetRows / rows))
            }
        }
        return sealed
    }

    /// Seals the dirty periods and up to `periods` new ones in one transaction.
    private func sealChunk(periods: Int, versions: [String: MonitoredVersion], skipped: Set<String>) async throws
        -> Outcome
    {
        try await database.transaction { connection in
            _ = try connection.query("SELECT pg_advisory_xact_lock(\(Self.lockKey))")
            let state = try connection.query(
                """
                -- A period is sealed once it ended 2 s ago (rows are logged ~50 ms after their answer).
                SELECT sealed_until, conveyor_rollup_period(now() - interval '2 seconds') AS complete,
                    (SELECT min(logged_at) FROM prediction_log) AS first
                FROM prediction_rollup_state
                """
            ).first
            guard let state else { return .done }
            let complete: Date = try state.decode("complete")
            let first = try state.decodeIfPresent("first", as: Date.self).map(RollupCoverage.periodStart)
            let start = try state.decodeIfPresent("sealed_until", as: Date.self) ?? min(first ?? complete, complete)
            let end = min(complete, start + Double(periods) * RollupCoverage.period)
            let dirty = try connection.query(
                "SELECT period FROM prediction_rollup_dirty WHERE period < \(start) ORDER BY period LIMIT 100"
            ).map { try $0.decode("period", as: Date.self) }
            var ranges = dirty.map { LogTimeRange(from: $0, to: $0 + RollupCoverage.period, includesEnd: false) }
            if start < end { ranges.append(LogTimeRange(from: start, to: end, includesEnd: false)) }
            guard !ranges.isEmpty else { return .done }

            var parameters = SQLParameters()
            let range = LogTimeRange.condition(ranges, "logged_at", &parameters)
            let present = try connection.query(
                PostgresQuery(
                    unsafeSQL: "SELECT DISTINCT model_version FROM prediction_log WHERE \(range)",
                    parameters: parameters.values)
            ).map { try $0.decode("model_version", as: String.self) }
            let missing = Set(present).subtracting(versions.keys).subtracting(skipped)
            guard missing.isEmpty else { return .needs(missing) }

            try connection.query("DELETE FROM prediction_rollup_periods WHERE period = ANY (\(dirty)::timestamptz[])")
            try connection.query("DELETE FROM prediction_rollups WHERE period = ANY (\(dirty)::timestamptz[])")
            let counted = try connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        INSERT INTO prediction_rollup_periods (period, instances)
                        SELECT conveyor_rollup_period(logged_at), sum(instances) FROM prediction_log WHERE \(range)
                        GROUP BY 1 RETURNING instances
                        """, parameters: parameters.values))
            let monitored = present.compactMap { versions[$0] }
            if !monitored.isEmpty {
                let query = BinsQuery(versions: monitored, ranges: ranges, byPeriod: true)
                let bins = try query.counts(try connection.query(query.query))
                try connection.copyIn(
                    table: "prediction_rollups",
                    columns: ["period", "model_version", "feature", "bucket", "n", "total", "outside"],
                    rows: bins.map {
                        [
                            $0.period?.postgresText, $0.version, $0.column, $0.bucket, String($0.count),
                            $0.sum?.postgresText, String($0.outside),
                        ]
                    })
            }
            try connection.query("DELETE FROM prediction_rollup_dirty WHERE period = ANY (\(dirty)::timestamptz[])")
            if start < end { try connection.query("UPDATE prediction_rollup_state SET sealed_until = \(end)") }
            let rows = try counted.reduce(0) { $0 + (try $1.decode("instances", as: Int.self)) }
            let sealed = counted.count
            return .sealed(periods: sealed, rows: rows, more: end < complete || dirty.count == 100)
        }
    }
}
