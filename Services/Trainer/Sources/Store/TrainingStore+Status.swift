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
    /// The live version of each model (serving answers with these), by model name.
    public let deployed: [(model: String, version: String)]
}

extension TrainingStore {
    /// Reads the queue and the newest run outcomes in one statement, then each model's live version.
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
              ) AS failed_in_a_row
            """)
        guard let row = rows.first else {
            return TrainerStatus(queueDepth: 0, oldestQueuedSeconds: 0, failedInARow: 0, deployed: [])
        }
        let live = try await DeploymentRecord.live(database)
        return TrainerStatus(
            queueDepth: try row.decode("depth"), oldestQueuedSeconds: try row.decode("oldest"),
            failedInARow: try row.decode("failed_in_a_row"),
            deployed: live.map { ($0.modelName, $0.version) })
    }
}
