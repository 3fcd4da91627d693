import Migrations
import Postgres

/// The one writer of `deployments`: a version goes live (trained, or an
/// admin's choice), or an earlier one is restored. Every write also tells
/// each serving replica through `NOTIFY` (delivered when the transaction
/// commits), so nothing else spells this insert.
public enum Deployments {
    /// Records in `connection`'s transaction that `version` of `model` is live from now on.
    public static func record(
        _ connection: PostgresConnection, model: String, version: String, reason: String, kind: DeploymentKind
    ) throws {
        try connection.query(
            """
            INSERT INTO deployments (model_name, version, reason, kind)
            VALUES (\(model), \(version), \(reason), \(kind))
            """)
        try connection.notify(Schema.deploymentsChannel, payload: version)
    }

    /// Restores the version of `model` that was live before its current one, walking back the
    /// history of its live versions (v3 → v2 → v1, never forward again) past versions a rollback
    /// rule marked bad. Nil when nothing is earlier.
    public static func rollBack(_ database: PostgresClient, model: String) async throws -> String? {
        try await database.transaction { connection in
            let live = try LiveHistory.load(connection, model: model)
            guard let previous = live.previous else { return nil }
            try record(
                connection, model: previous.model, version: previous.version, reason: "rollback", kind: .rollback)
            return previous.version
        }
    }

    /// What an admin's redeploy did.
    public enum Redeploy: Sendable, Equatable {
        /// The version is live now on every replica (a bad mark was cleared).
        case deployed
        /// It was live already: nothing was written (a second copy would stall rollbacks on it).
        case alreadyLive
        /// No such version.
        case unknownVersion
    }

    /// Deploys `version` as an admin's explicit choice, clearing a rollback rule's bad mark;
    /// with `model`, only a version of that model.
    public static func redeploy(_ database: PostgresClient, version: String, model: String? = nil) async throws
        -> Redeploy
    {
        try await database.transaction { connection in
            let rows = try connection.query(
                """
                UPDATE model_versions SET marked_bad_at = NULL, marked_bad_reason = NULL
                WHERE version = \(version) AND (\(model)::text IS NULL OR model_name = \(model)) RETURNING model_name
                """)
            guard let model: String = try rows.first?.decode("model_name") else { return .unknownVersion }
            let history = try LiveHistory.load(connection, model: model)
            if history.live?.version == version { return .alreadyLive }
            try record(connection, model: model, version: version, reason: "redeployed by an admin", kind: .deploy)
            return .deployed
        }
    }
}
