import Foundation
import JSON
import Postgres

/// The SQL of `POST /feedback`: finding the logged predictions ground truth
/// names (by request id, or by business id), and storing the actuals beside
/// them in `prediction_feedback`.
struct FeedbackStore: Sendable {
    let database: PostgresClient

    /// One actual for one instance of a logged request, canonical (see `FeedbackController`).
    struct Actual: Sendable {
        let requestID: String
        let position: Int
        let actual: JSONValue
    }

    /// The request id and position of the newest prediction carrying each business id.
    func predictions(ofIDs ids: Set<String>, field: String) async throws -> [String: (String, Int)] {
        let list = try PostgresJSON(encoding: Array(ids))
        let rows = try await database.query(
            """
            SELECT DISTINCT ON (k.key) k.key, p.request_id, e.position - 1 AS position
            FROM json_array_elements_text(\(list)::json) AS k(key)
            JOIN prediction_log p ON p.inputs::jsonb @> jsonb_build_array(jsonb_build_object(\(field)::text, k.key))
            CROSS JOIN LATERAL jsonb_array_elements(p.inputs::jsonb) WITH ORDINALITY AS e(instance, position)
            WHERE e.instance->>\(field) = k.key
            ORDER BY k.key, p.logged_at DESC, e.position DESC
            """)
        var found: [String: (String, Int)] = [:]
        for row in rows {
            found[try row.decode("key")] = (try row.decode("request_id"), try row.decode("position"))
        }
        return found
    }

    /// The logged request an id names.
    struct Prediction {
        let version: String
        /// The model its version belongs to.
        let model: String
        let loggedAt: Date
        let instances: Int
    }

    struct Key: Hashable {
        let requestID: String
        let position: Int
    }

    func predictions(of ids: Set<String>) async throws -> [String: Prediction] {
        guard !ids.isEmpty else { return [:] }
        let list = try PostgresJSON(encoding: Array(ids))
        let rows = try await database.query(
            """
            SELECT p.request_id, p.model_version, coalesce(mv.model_name, '') AS model_name, p.logged_at,
                   json_array_length(p.outputs) AS instances
            FROM prediction_log p LEFT JOIN model_versions mv ON mv.version = p.model_version
            WHERE p.request_id IN (SELECT json_array_elements_text(\(list)::json))
            """)
        var found: [String: Prediction] = [:]
        for row in rows {
            found[try row.decode("request_id")] = Prediction(
                version: try row.decode("model_version"), model: try row.decode("model_name"),
                loggedAt: try row.decode("logged_at"),
                instances: try row.decode("instances"))
        }
        return found
    }

    /// Inserts what is new; returns the keys inserted (the rest were duplicates).
    func insert(_ rows: [Actual]) async throws -> Set<Key> {
        guard !rows.isEmpty else { return [] }
        let values = rows.map { item -> JSONValue in
            .object([
                "request_id": .string(item.requestID), "position": .number(Double(item.position)),
                "actual": item.actual,
            ])
        }
        let payload = try PostgresJSON(encoding: JSONValue.array(values))
        // The prediction's version, exact time and output come from the log itself, kept beside
        // the actual: live metrics read feedback alone (the join over the log was their cost).
        let inserted = try await database.query(
            """
            INSERT INTO prediction_feedback (request_id, position, actual, model_version, predicted_at, output)
            SELECT r.request_id, r.position, r.actual, p.model_version, p.logged_at, p.outputs->(r.position)
            FROM json_to_recordset(\(payload)::json) AS r(request_id text, position integer, actual json)
            JOIN prediction_log p ON p.request_id = r.request_id
            ON CONFLICT (request_id, position) DO NOTHING
            RETURNING request_id, position
            """)
        return Set(
            try inserted.map { Key(requestID: try $0.decode("request_id"), position: try $0.decode("position")) })
    }
}
