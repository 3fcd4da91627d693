import Foundation
import Logging
import Postgres
import ServiceLifecycle

/// Keeps `prediction_log`'s daily partitions: makes the next days' ahead of
/// time and drops those older than `PREDICTION_RETENTION_DAYS`, at start and
/// every hour (the work is Postgres's `conveyor_prediction_retention`, and
/// `conveyor_rollup_retention` for monitoring's rollups of those days).
public struct PredictionLogRetention: Service {
    let database: PostgresClient
    /// Days of predictions kept; nil keeps everything.
    let days: Int?
    let interval: Duration
    let logger: Logger

    public init(database: PostgresClient, days: Int?, interval: Duration = .seconds(3600), logger: Logger) {
        self.database = database
        self.days = days
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let dropped = try await self.apply()
                    if !dropped.isEmpty {
                        self.logger.info(
                            "dropped old prediction log partitions", metadata: ["partitions": "\(dropped)"])
                    }
                } catch is CancellationError {
                    return
                } catch {
                    self.logger.warning("prediction log retention failed", metadata: ["error": "\(error)"])
                }
                try await Task.sleep(for: self.interval)
            }
        }
    }

    /// Makes the coming partitions and drops the expired ones, with their
    /// monitoring rollups; returns the partitions' names.
    public func apply() async throws -> [String] {
        let days = days
        return try await database.transaction { connection in
            let dropped = try connection.query("SELECT conveyor_prediction_retention(\(days)) AS dropped").compactMap {
                try $0.decodeIfPresent("dropped", as: String.self)
            }
            try connection.query("SELECT conveyor_rollup_retention(\(days))")
            return dropped
        }
    }
}
