import Foundation
import Postgres

/// One rollback rule as the trainer evaluated it on a monitoring report
/// (`rule_evaluations`): its value, bound, samples, verdict and what was done.
struct RuleEvaluationRecord: Encodable, Sendable {
    let reportID: Int64
    let modelVersion: String
    let rule: String
    let value: Double?
    let bound: String
    let samples: Int64?
    let verdict: String
    let action: String?
    let evaluatedAt: Date

    enum CodingKeys: String, CodingKey {
        case reportID = "report_id"
        case modelVersion = "model_version"
        case rule, value, bound, samples, verdict, action
        case evaluatedAt = "evaluated_at"
    }

    /// Every key always present (null when a figure is missing), so the shape does not vary.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(reportID, forKey: .reportID)
        try container.encode(modelVersion, forKey: .modelVersion)
        try container.encode(rule, forKey: .rule)
        try container.encode(value, forKey: .value)
        try container.encode(bound, forKey: .bound)
        try container.encode(samples, forKey: .samples)
        try container.encode(verdict, forKey: .verdict)
        try container.encode(action, forKey: .action)
        try container.encode(evaluatedAt, forKey: .evaluatedAt)
    }

    /// The evaluations of the newest evaluated report of each of `versions`.
    static func latest(_ database: PostgresClient, versions: [String]) async throws -> [RuleEvaluationRecord] {
        guard !versions.isEmpty else { return [] }
        let rows = try await database.query(
            """
            SELECT e.report_id, e.model_version, e.rule, e.value, e.bound, e.samples, e.verdict, e.action, e.evaluated_at
            FROM rule_evaluations e
            WHERE e.model_version = ANY(\(versions)::text[])
              AND e.report_id = (SELECT max(report_id) FROM rule_evaluations l WHERE l.model_version = e.model_version)
            ORDER BY e.model_version, e.rule
            """)
        return try rows.map { row in
            RuleEvaluationRecord(
                reportID: try row.decode("report_id"), modelVersion: try row.decode("model_version"),
                rule: try row.decode("rule"), value: try row.decodeIfPresent("value"), bound: try row.decode("bound"),
                samples: try row.decodeIfPresent("samples"), verdict: try row.decode("verdict"),
                action: try row.decodeIfPresent("action"), evaluatedAt: try row.decode("evaluated_at"))
        }
    }
}
