import Foundation
import Postgres

/// What the rollups (migration 16, `RollupSealer`) cover as a report reads
/// them: every 10-second period before `sealedUntil` except the dirty ones.
/// A window is split into those whole periods, summed from the rollups, and
/// the rest (its partial first period, the periods not sealed yet, the dirty
/// ones), read raw: the sum is what one raw pass over the window counts.
struct RollupCoverage: Sendable {
    /// The periods' length, as `conveyor_rollup_period` bins.
    static let period: TimeInterval = 10
    /// The periods' origin, 2000-01-01T00:00:00Z.
    static let origin: TimeInterval = 946_684_800

    let sealedUntil: Date?
    let dirty: [Date]

    /// Reads the state in the caller's transaction (a repeatable read, so
    /// the rollups and the raw rows it reads next agree).
    static func read(_ connection: PostgresConnection) throws -> RollupCoverage {
        let state = try connection.query("SELECT sealed_until FROM prediction_rollup_state")
        let sealed = try state.first?.decodeIfPresent("sealed_until", as: Date.self)
        guard let sealed else { return RollupCoverage(sealedUntil: nil, dirty: []) }
        let dirty = try connection.query(
            "SELECT period FROM prediction_rollup_dirty WHERE period < \(sealed) ORDER BY period"
        ).map { try $0.decode("period", as: Date.self) }
        return RollupCoverage(sealedUntil: sealed, dirty: dirty)
    }

    /// The start of the period `date` falls in.
    static func periodStart(_ date: Date) -> Date {
        let offset = date.timeIntervalSince1970 - origin
        return Date(timeIntervalSince1970: origin + (offset / period).rounded(.down) * period)
    }

    /// Where the sealed periods a window ending at `end` may use stop: the
    /// period holding `end` is partial, and nothing is sealed past `sealedUntil`.
    func sealedEnd(before end: Date) -> Date? {
        sealedUntil.map { min($0, Self.periodStart(end)) }
    }

    /// The window `since`…`end` (inclusive) as whole sealed periods and raw ranges.
    func split(since: Date, end: Date) -> (sealed: Range<Date>?, raw: [LogTimeRange]) {
        let whole = Self.periodStart(since) == since ? since : Self.periodStart(since) + Self.period
        guard let last = sealedEnd(before: end), whole < last else {
            return (nil, [LogTimeRange(from: since, to: end, includesEnd: true)])
        }
        var raw: [LogTimeRange] = []
        if since < whole { raw.append(LogTimeRange(from: since, to: whole, includesEnd: false)) }
        for period in dirty where period >= whole && period < last {
            raw.append(LogTimeRange(from: period, to: period + Self.period, includesEnd: false))
        }
        raw.append(LogTimeRange(from: last, to: end, includesEnd: true))
        return (whole..<last, raw)
    }

    /// The summed bins of the sealed periods in `range`: a dirty period has none.
    static func sealedCounts(_ connection: PostgresConnection, _ range: Range<Date>) throws -> [BinCount] {
        try connection.query(
            """
            SELECT model_version, feature, bucket, sum(n)::bigint AS n, sum(total) AS total,
                sum(outside)::bigint AS outside
            FROM prediction_rollups WHERE period >= \(range.lowerBound) AND period < \(range.upperBound)
            GROUP BY 1, 2, 3
            """
        ).map {
            BinCount(
                version: try $0.decode("model_version"), column: try $0.decode("feature"),
                bucket: try $0.decodeIfPresent("bucket"), count: try $0.decode("n"),
                sum: try $0.decodeIfPresent("total"), outside: try $0.decode("outside"))
        }
    }

    /// Where the window of the last `last` predictions up to `end` starts:
    /// the period where they add up, from the sealed periods' counts and the
    /// raw rest, then the exact walk back inside that one period; `end` when
    /// the log is empty. Without sealed periods it is the walk over the log.
    func windowStart(_ connection: PostgresConnection, end: Date, last: Int) throws -> Date {
        guard let boundary = sealedEnd(before: end) else {
            let found = try connection.query("SELECT conveyor_window_start(\(end), \(last)) AS start")
            return try found.first?.decodeIfPresent("start", as: Date.self) ?? end
        }
        var parameters = SQLParameters()
        let limit = parameters.add(boundary)
        let until = parameters.add(end)
        let dirty = dirty.filter { $0 < boundary }.map {
            LogTimeRange(from: $0, to: $0 + Self.period, includesEnd: false)
        }
        let unsealed = LogTimeRange.condition(dirty, "logged_at", &parameters)
        let wanted = parameters.add(last)
        let counted = try connection.query(
            PostgresQuery(
                unsafeSQL: """
                    WITH counts AS (
                        SELECT period, instances FROM prediction_rollup_periods WHERE period < \(limit)::timestamptz
                        UNION ALL
                        SELECT conveyor_rollup_period(logged_at), sum(instances) FROM prediction_log
                        WHERE logged_at <= \(until)::timestamptz AND (logged_at >= \(limit)::timestamptz OR \(unsealed))
                        GROUP BY 1
                    ), running AS (
                        SELECT period, instances, sum(instances) OVER (ORDER BY period DESC) AS seen FROM counts
                    )
                    SELECT period, (seen - instances)::bigint AS newer FROM running
                    WHERE seen >= \(wanted)::bigint ORDER BY period DESC LIMIT 1
                    """, parameters: parameters.values))
        guard let row = counted.first else {
            let first = try connection.query(
                "SELECT min(logged_at) AS first FROM prediction_log WHERE logged_at <= \(end)")
            return try first.first?.decodeIfPresent("first", as: Date.self) ?? end
        }
        let period: Date = try row.decode("period")
        let newer: Int = try row.decode("newer")
        let found = try connection.query(
            """
            SELECT conveyor_window_start(
                least(\(end)::timestamptz, \(period)::timestamptz + interval '10 seconds' - interval '1 microsecond'),
                \(last - newer)) AS start
            """)
        return try found.first?.decodeIfPresent("start", as: Date.self) ?? end
    }
}
