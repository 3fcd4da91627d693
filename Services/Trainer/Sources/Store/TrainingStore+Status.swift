import Foundation
import Postgres
import Registry

/// The fleet's state as the trainer's status gauges show it.
public struct TrainerStatus: Sendable {
    /// Runs waiting in the queue, and how long the oldest has waited (0 when none waits).
    public let queueDepth: Int
    public let oldestQueuedSeconds: Double
    /// Failed runs since the last run that produced a model (succeeded or rejected).
    public let failedInARow: Int
    /// The version serving answers with, if any.
    public let deployed: (model: String, version: String)?
}

extension TrainingStore {
    /// Reads the queue, the newest run outcomes and the deployed version in one statement.
    public func status() async throws -> TrainerStatus {
        let rows = try await database.query(
            """
            SELECT
              (SELECT count(*)::int FROM training_runs WHERE status = \(RunStatus.queued)) AS depth,
              (SELECT coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8
                 FROM training_runs WHERE status = \(RunStatus.queued)) AS oldest,
              (SELECT count(*)::int FROM training_runs
                 WHERE status = \(RunStatus.failed)
                   AND id > coalesce((SELECT max(id) FROM training_runs WHERE status = ANY(\([RunStatus.succeeded, .rejected]))), 0)
              ) AS failed_in_a_row,
              (SELECT d.model_name FROM deployments d ORDER BY d.id DESC LIMIT 1) AS model,
              (SELECT d.version FROM deployments d ORDER BY d.id DESC LIMIT 1) AS version
            """)
        guard let row = rows.first else {
            return TrainerStatus(queueDepth: 0, oldestQueuedSeconds: 0, failedInARow: 0, deployed: nil)
        }
        let model: String? = try row.decodeIfPresent("model")
        let version: String? = try row.decodeIfPresent("version")
        return TrainerStatus(
            queueDepth: try row.decode("depth"), oldestQueuedSeconds: try row.decode("oldest"),
            failedInARow: try row.decode("failed_in_a_row"),
            deployed: version.map { (model ?? "", $0) })
    }
}
