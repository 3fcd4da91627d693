import JSON
import Postgres

extension TrainingStore {
    /// The live version's most recent logged instances (newest first), at most
    /// `limit`, for the shadow replay; rows the log keeps as unmonitored are skipped.
    public func loggedRequests(version: String, limit: Int) async throws -> [ShadowRequest] {
        let rows = try await database.query(
            """
            SELECT inputs::text AS inputs, outputs::text AS outputs FROM prediction_log
            WHERE model_version = \(version) AND json_typeof(inputs) = 'array'
            ORDER BY logged_at DESC LIMIT \(limit)
            """)
        var requests: [ShadowRequest] = []
        for row in rows where requests.count < limit {
            let inputs = try JSONValue.parse(Array(try row.decode("inputs", as: String.self).utf8))
            let outputs = try JSONValue.parse(Array(try row.decode("outputs", as: String.self).utf8))
            requests += ShadowRequest.instances(inputs: inputs, outputs: outputs).prefix(limit - requests.count)
        }
        return requests
    }
}
