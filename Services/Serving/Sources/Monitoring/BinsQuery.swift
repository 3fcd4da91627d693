import Foundation
import Learning
import Postgres

/// The drift query: one pass over the window's instances, each parsed once
/// (`json_to_record`, typed by the features' kinds: the log holds canonical
/// values, see `LoggedInstance`), binned per feature with `width_bucket`
/// against its version's reference edges, and counted under
/// `GROUPING SETS` (one set per feature and the prediction). Measured: the
/// first form, one row per (instance, feature) grouped afterwards, took
/// 17.8 s for 100,000 predictions; this one is in the README's table.
struct BinsQuery {
    /// A monitored column: a feature, or the prediction ("").
    struct Column {
        let name: String
        let categorical: Bool
    }

    let columns: [Column]
    let query: PostgresQuery

    init(versions: [MonitoredVersion], since: Date, until: Date) {
        var parameters = SQLParameters()
        let range = "logged_at >= \(parameters.add(since)) AND logged_at <= \(parameters.add(until))"
        // Columns: each feature name once, with the kind its first version gives it; a version
        // that disagrees on a kind is not monitored for that feature.
        var columns: [Column] = []
        for version in versions {
            for (name, _, categorical) in version.monitored where !name.isEmpty {
                if !columns.contains(where: { $0.name == name }) {
                    columns.append(Column(name: name, categorical: categorical))
                }
            }
        }
        let record = columns.map {
            "\(PostgresQuery.quoteIdentifier($0.name)) \($0.categorical ? "text" : "double precision")"
        }
        var selects: [String] = []
        for (index, column) in (columns + [Column(name: "", categorical: false)]).enumerated() {
            var buckets: [String] = []
            var values: [String] = []
            var outside: [String] = []
            for version in versions {
                guard let (_, statistics, categorical) = version.monitored.first(where: { $0.name == column.name }),
                    column.name.isEmpty || categorical == column.categorical
                else { continue }
                let tag = parameters.add(version.artifact.version)
                let value: String
                if column.name.isEmpty {
                    value =
                        categorical
                        ? "f.\"prediction output\"->>'label'" : "(f.\"prediction output\"#>>'{}')::double precision"
                } else {
                    value = "f.\(PostgresQuery.quoteIdentifier(column.name))"
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
        let sets = (0..<count).map { "(version, b\($0))" }.joined(separator: ", ")
        let aggregates = (0..<count).map {
            "sum(x\($0)) AS s\($0), count(*) FILTER (WHERE o\($0)) AS o\($0)"
        }.joined(separator: ", ")
        let sql = """
            WITH b AS (
                SELECT w.model_version AS version, \(selects.joined(separator: ",\n        "))
                FROM prediction_log w
                CROSS JOIN LATERAL ROWS FROM (
                    json_to_recordset(w.inputs) AS (\(record.isEmpty ? "\"\" text" : record.joined(separator: ", "))),
                    json_array_elements(w.outputs)) AS f(\((columns.map { PostgresQuery.quoteIdentifier($0.name) } + ["\"prediction output\""]).joined(separator: ", ")))
                -- Only canonical rows (an array of instances); earlier ones are kept "unmonitored".
                WHERE \(range) AND json_typeof(w.inputs) = 'array' AND f."prediction output" IS NOT NULL
            )
            SELECT version, GROUPING(\((0..<count).map { "b\($0)" }.joined(separator: ", "))) AS grouping,
                \((0..<count).map { "b\($0)" }.joined(separator: ", ")), count(*) AS n, \(aggregates)
            FROM b GROUP BY GROUPING SETS (\(sets))
            """
        self.columns = columns + [Column(name: "", categorical: false)]
        self.query = PostgresQuery(unsafeSQL: sql, parameters: parameters.values)
    }

    /// Which column a result row counts: the one set bit of GROUPING that is clear.
    func column(ofGrouping grouping: Int) -> Int? {
        let count = columns.count
        return (0..<count).first { grouping & (1 << (count - 1 - $0)) == 0 }
    }
}
