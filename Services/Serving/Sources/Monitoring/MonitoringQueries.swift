import Foundation
import Learning
import Postgres

/// The window a report covers: the requests holding the last N predictions, or the last M minutes.
struct MonitoringWindow: Sendable, Equatable {
    let last: Int?
    let minutes: Double?

    init(_ spec: MonitoringSpec.Window) {
        last = spec.minutes == nil ? (spec.last ?? 1000) : nil
        minutes = spec.minutes
    }

    var kind: String { minutes == nil ? "last" : "minutes" }
    var size: Double { minutes ?? Double(last ?? 0) }
    /// The earliest time a row may have (the distant past for "last N").
    func since(_ now: Date) -> Date {
        minutes.map { now.addingTimeInterval(-$0 * 60) } ?? Date(timeIntervalSince1970: 0)
    }
}

/// The SQL of monitoring: the window's live values binned per version and
/// feature, and the window's predictions joined with their ground truth.
/// Everything is aggregated in Postgres; Swift gets one row per bin.
enum MonitoringQueries {
    /// Per version and feature ("" for the prediction): per bin (numeric) or
    /// category, the count, the sum and the count outside the training range;
    /// a NULL bucket holds the missing values.
    static func bins(window: MonitoringWindow, end: Date, specs: String) -> PostgresQuery {
        """
        WITH w AS (
            SELECT * FROM conveyor_window(\(window.since(end)), \(end), \(window.last))
        ), i AS (
            SELECT w.model_version, e.instance, e.output
            FROM w CROSS JOIN LATERAL ROWS FROM (
                json_array_elements(CASE WHEN json_typeof(w.inputs) = 'array' THEN w.inputs ELSE w.inputs->'instances' END),
                json_array_elements(w.outputs)) AS e(instance, output)
            WHERE json_typeof(e.instance) = 'object' AND e.output IS NOT NULL
        ), v AS (
            SELECT i.model_version, kv.key AS feature, kv.value FROM i CROSS JOIN LATERAL json_each_text(i.instance) kv
            UNION ALL
            SELECT i.model_version, '', coalesce(i.output->>'label', i.output#>>'{}') FROM i
        ), x AS (
            SELECT s.version, s.feature, s.numeric, s.edges, s.lo, s.hi, v.value,
                CASE WHEN s.numeric THEN conveyor_number(v.value) END AS number
            FROM v JOIN json_to_recordset(\(specs)::json)
                AS s(version text, feature text, numeric boolean, edges double precision[], lo double precision,
                     hi double precision)
                ON s.version = v.model_version AND s.feature = v.feature
        )
        SELECT version, feature, CASE WHEN numeric THEN (width_bucket(number, edges))::text ELSE value END AS bucket,
            count(*) AS n, coalesce(sum(number), 0) AS total,
            count(*) FILTER (WHERE number < lo OR number > hi) AS outside
        FROM x GROUP BY 1, 2, 3
        """
    }

    /// Per version: predictions in the window that have ground truth, with
    /// regression sums, or classification counts per (predicted, actual) and
    /// the summed log loss.
    static func liveMetrics(window: MonitoringWindow, end: Date) -> PostgresQuery {
        """
        WITH w AS (
            SELECT * FROM conveyor_window(\(window.since(end)), \(end), \(window.last))
        ), l AS (
            SELECT w.model_version, w.outputs->(f.position) AS output, f.actual
            FROM w JOIN prediction_feedback f ON f.request_id = w.request_id
        )
        SELECT model_version, output->>'label' AS label, actual#>>'{}' AS actual_label, count(*) AS n,
            sum(-ln(greatest(coalesce(conveyor_number(output->'probabilities'->>(actual#>>'{}')), 0), 1e-15)))
                AS log_loss,
            sum((conveyor_number(output#>>'{}') - conveyor_number(actual#>>'{}'))^2) AS squared,
            sum(abs(conveyor_number(output#>>'{}') - conveyor_number(actual#>>'{}'))) AS absolute,
            sum(conveyor_number(actual#>>'{}')) AS actual_sum, sum(conveyor_number(actual#>>'{}')^2) AS actual_squares
        FROM l WHERE output IS NOT NULL
        GROUP BY 1, 2, 3
        """
    }
}
