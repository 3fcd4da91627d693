import Foundation
import Learning
import Postgres

/// The drift query: one pass over some time ranges of the log, each logged
/// instance parsed once (`json_to_recordset`, typed by the features' kinds:
/// the log holds canonical values, see `LoggedInstance`), binned per feature
/// with `width_bucket` against its version's reference edges, and counted
/// under `GROUPING SETS` (one set per feature and the prediction), per
/// 10-second period for the rollup job. Measured: the first form, one row per
/// (instance, feature) grouped afterwards, took 17.8 s for 100,000
/// predictions; this one is in docs/monitoring.md's table.
struct BinsQuery {
    /// A monitored column: a feature, or the prediction (""), with the kind
    /// its versions give it. Two versions that type a feature differently
    /// make two columns, so a version's bins never depend on the others
    /// counted with it (the rollups count each period's versions together).
    struct Column: Equatable {
        let name: String
        let categorical: Bool
    }

    let columns: [Column]
    let query: PostgresQuery
    let byPeriod: Bool

    init(versions: [MonitoredVersion], ranges: [LogTimeRange], byPeriod: Bool = false) {
        var parameters = SQLParameters()
        let range = LogTimeRange.condition(ranges, "w.logged_at", &parameters)
        var columns: [Column] = []
        for version in versions {
            for (name, _, categorical) in version.monitored where !name.isEmpty {
                let column = Column(name: name, categorical: categorical)
                if !columns.contains(column) { columns.append(column) }
            }
        }
        // json_to_recordset reads each name once: as text when a version treats it as a
        // category (numeric branches then cast it; the log holds that version's numbers).
        var names: [String] = []
        for column in columns where !names.contains(column.name) { names.append(column.name) }
        let textual = Set(columns.filter(\.categorical).map(\.name))
        let record = names.map {
            "\(PostgresQuery.quoteIdentifier($0)) \(textual.contains($0) ? "text" : "double precision")"
        }
        var selects: [String] = []
        for (index, column) in (columns + [Column(name: "", categorical: false)]).enumerated() {
            var buckets: [String] = []
            var values: [String] = []
            var outside: [String] = []
            for version in versions {
                guard
                    let (_, statistics, categorical) = version.monitored.first(where: {
                        $0.name == column.name && (column.name.isEmpty || $0.categorical == column.categorical)
                    })
                else { continue }
                let tag = parameters.add(version.artifact.version)
                let value: String
                if column.name.isEmpty {
                    value =
                        categorical
                        ? "f.\"prediction output\"->>'label'" : "(f.\"prediction output\"#>>'{}')::double precision"
                } else {
                    let field = "f.\(PostgresQuery.quoteIdentifier(column.name))"
                    value = categorical || !textual.contains(column.name) ? field : "\(field)::double precision"
                }
                if categorical {
                    buckets.append("WHEN \(tag) THEN \(value)")
                    continue
                }
                guard let histogram = DriftAnalysis.histogram(of: statistics) else { continue }
                buckets.append("WHEN \(tag) THEN \(parameters.bucket(value, by: histogram))")
                values.append("WHEN \(tag) THEN \(value)")
                let low = parameters.add(statistics.min ?? -Double.greatestFiniteMagnitude)
                let high = parameters.add(statistics.max ?? Double.greatestFiniteMagnitude)
                outside.append("WHEN \(tag) THEN \(value) < \(low) OR \(value) > \(high)")
            }
            func cases(_ branches: [String], _ otherwise: String) -> String {
                branches.isEmpty ? otherwise : "CASE w.model_version \(branches.joined(separator: " ")) END"
            }
            selects.append("\(cases(buckets, "NULL::text")) AS b\(index)")
            selects.append("\(cases(values, "NULL::double precision")) AS x\(index)")
            selects.append("\(cases(outside, "false")) AS o\(index)")
        }
        let count = columns.count + 1
        let period = byPeriod ? "period, " : ""
        let sets = (0..<count).map { "(\(period)version, b\($0))" }.joined(separator: ", ")
        let aggregates = (0..<count).map {
            "sum(x\($0)) AS s\($0), count(*) FILTER (WHERE o\($0)) AS o\($0)"
        }.joined(separator: ", ")
        let recordNames = (names.map(PostgresQuery.quoteIdentifier) + ["\"prediction output\""]).joined(separator: ", ")
        let sql = """
            WITH b AS (
                SELECT \(byPeriod ? "conveyor_rollup_period(w.logged_at) AS period, " : "")w.model_version AS version,
                    \(selects.joined(separator: ",\n        "))
                FROM prediction_log w
                CROSS JOIN LATERAL ROWS FROM (
                    json_to_recordset(w.inputs) AS (\(record.isEmpty ? "\"\" text" : record.joined(separator: ", "))),
                    json_array_elements(w.outputs)) AS f(\(names.isEmpty ? "\"\", " : "")\(recordNames))
                -- Only canonical rows (an array of instances); earlier ones are kept "unmonitored".
                WHERE (\(range)) AND json_typeof(w.inputs) = 'array' AND f."prediction output" IS NOT NULL
            )
            SELECT \(period)version, GROUPING(\((0..<count).map { "b\($0)" }.joined(separator: ", "))) AS grouping,
                \((0..<count).map { "b\($0)" }.joined(separator: ", ")), count(*) AS n, \(aggregates)
            FROM b GROUP BY GROUPING SETS (\(sets))
            """
        self.columns = columns + [Column(name: "", categorical: false)]
        self.byPeriod = byPeriod
        self.query = PostgresQuery(unsafeSQL: sql, parameters: parameters.values)
    }

    /// Which column a result row counts: the one set bit of GROUPING that is clear.
    func column(ofGrouping grouping: Int) -> Int? {
        let count = columns.count
        return (0..<count).first { grouping & (1 << (count - 1 - $0)) == 0 }
    }

    /// The result rows as bins.
    func counts(_ rows: some Sequence<PostgresRow>) throws -> [BinCount] {
        try rows.compactMap { row in
            guard let index = column(ofGrouping: try row.decode("grouping")) else { return nil }
            return BinCount(
                period: byPeriod ? try row.decode("period", as: Date.self) : nil, version: try row.decode("version"),
                column: columns[index].name, bucket: try row.decodeIfPresent("b\(index)"), count: try row.decode("n"),
                sum: try row.decodeIfPresent("s\(index)"), outside: try row.decode("o\(index)"))
        }
    }
}
