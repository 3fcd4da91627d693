import Foundation
import Learning
import Postgres

/// Stores reports (`monitoring_reports`, one row per feature in
/// `monitoring_statistics`) and reads them back as `GET /monitoring` shows them.
struct MonitoringStore {
    let database: PostgresClient

    func save(_ report: MonitoringReport) async throws -> MonitoringReport {
        let live = try PostgresJSON(encoding: report.liveMetrics)
        let training = try PostgresJSON(encoding: report.trainingMetrics)
        // The prediction is stored under "", the label under "\u{1}label" (neither can be a feature name).
        let rows =
            report.features.map { ($0.feature, $0) } + (report.prediction.map { [("", $0)] } ?? [])
            + (report.label.map { [("\u{1}label", $0)] } ?? [])
        let statistics = try rows.map { ($0, $1, try PostgresJSON(encoding: $1.statistics)) }
        var stamped = report
        stamped.computedAt = Date()
        let whole = PostgresJSON(text: String(decoding: try Self.encoder.encode(stamped), as: UTF8.self))
        let report = stamped
        let id = try await database.transaction { connection -> Int64 in
            let inserted = try connection.query(
                """
                INSERT INTO monitoring_reports (model_version, window_kind, window_size, window_start, window_end, rows,
                    reference, drifted_features, monitored_features, drift_share, dataset_drift, labelled, live_metrics,
                    training_metrics, duration_ms, report, computed_at)
                VALUES (\(report.modelVersion), \(report.windowKind), \(report.windowSize), \(report.windowStart),
                    \(report.windowEnd), \(report.rows), \(report.reference), \(report.driftedFeatures),
                    \(report.features.count), \(report.driftShare), \(report.datasetDrift), \(report.labelled),
                    \(live)::jsonb, \(training)::jsonb, \(report.durationMilliseconds), \(whole)::jsonb,
                    \(report.computedAt))
                RETURNING id
                """)
            let id: Int64 = try inserted.first!.decode("id")
            for (feature, drift, json) in statistics {
                try connection.query(
                    """
                    INSERT INTO monitoring_statistics (report_id, feature, kind, method, value, threshold, drifted,
                        statistics, rows, missing_share, out_of_range_share)
                    VALUES (\(id), \(feature), \(drift.kind), \(drift.method.rawValue), \(drift.value),
                        \(drift.threshold), \(drift.drifted), \(json)::jsonb, \(drift.rows), \(drift.missingShare),
                        \(drift.outOfRangeShare))
                    """)
            }
            return id
        }
        var saved = report
        saved.id = id
        return saved
    }

    /// The newest stored report of each version that has one.
    func latest() async throws -> [MonitoringReport] {
        let rows = try await database.query(
            """
            SELECT DISTINCT ON (model_version) id, report::text AS report FROM monitoring_reports
            ORDER BY model_version, id DESC
            """)
        return try rows.map(Self.report)
    }

    /// The newest stored report of `version`, if any.
    func latest(version: String) async throws -> MonitoringReport? {
        let rows = try await database.query(
            """
            SELECT id, report::text AS report FROM monitoring_reports
            WHERE model_version = \(version) ORDER BY id DESC LIMIT 1
            """)
        return try rows.first.map(Self.report)
    }

    /// A stored report with its id.
    private static func report(_ row: PostgresRow) throws -> MonitoringReport {
        var report = try decoder.decode(
            MonitoringReport.self, from: Data(try row.decode("report", as: String.self).utf8))
        report.id = try row.decode("id")
        return report
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()
}
