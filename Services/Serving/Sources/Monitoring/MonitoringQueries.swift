import Foundation
import Learning
import Postgres

/// The live-metrics SQL: the window's ground truth with the predictions it
/// is for, aggregated in Postgres (the drift SQL is `BinsQuery`).
enum MonitoringQueries {
    /// Per version: predictions in the window that have ground truth, with
    /// regression sums, or classification counts per (predicted, actual) and
    /// the summed log loss. Feedback keeps its prediction's output (migration 16).
    static func liveMetrics(since: Date, until: Date) -> PostgresQuery {
        """
        WITH l AS (
            -- Outputs and stored actuals are canonical (numbers for regression): the casts are safe.
            SELECT model_version, output, actual,
                CASE WHEN json_typeof(output) = 'number' THEN (output#>>'{}')::double precision END AS p,
                CASE WHEN json_typeof(actual) = 'number' THEN (actual#>>'{}')::double precision END AS a
            FROM prediction_feedback
            WHERE predicted_at >= \(since) AND predicted_at <= \(until)
        )
        SELECT model_version, output->>'label' AS label, actual#>>'{}' AS actual_label, count(*) AS n,
            sum(-ln(greatest(coalesce((output->'probabilities'->>(actual#>>'{}'))::double precision, 0), 1e-15)))
                AS log_loss,
            sum((p - a)^2) AS squared, sum(abs(p - a)) AS absolute, sum(a) AS actual_sum, sum(a^2) AS actual_squares
        FROM l WHERE output IS NOT NULL
        GROUP BY 1, 2, 3
        """
    }

    /// Per version: the ground truth of the window's predictions binned like
    /// the training target (label drift): `width_bucket` by the target's
    /// percentile edges for a regression, the class for a classifier.
    static func labels(versions: [MonitoredVersion], since: Date, until: Date) -> PostgresQuery {
        var parameters = SQLParameters()
        var buckets: [String] = []
        var numbers: [String] = []
        for version in versions {
            guard let target = version.artifact.targetReference else { continue }
            let tag = parameters.add(version.artifact.version)
            if target.frequencies != nil {
                buckets.append("WHEN \(tag) THEN actual#>>'{}'")
            } else if let histogram = DriftAnalysis.histogram(of: target) {
                let value = "(actual#>>'{}')::double precision"
                buckets.append("WHEN \(tag) THEN \(parameters.bucket(value, by: histogram))")
                numbers.append("WHEN \(tag) THEN \(value)")
            }
        }
        let bucket = buckets.isEmpty ? "NULL::text" : "CASE model_version \(buckets.joined(separator: " ")) END"
        let number =
            numbers.isEmpty ? "NULL::double precision" : "CASE model_version \(numbers.joined(separator: " ")) END"
        // Stored actuals are canonical (a number for a regression, a class label's string otherwise).
        let sql = """
            SELECT model_version AS version, \(bucket) AS bucket, count(*) AS n, sum(\(number)) AS total
            FROM prediction_feedback
            WHERE predicted_at >= \(parameters.add(since)) AND predicted_at <= \(parameters.add(until))
            GROUP BY 1, 2
            """
        return PostgresQuery(unsafeSQL: sql, parameters: parameters.values)
    }
}
