import Foundation
import Logging
import Postgres
import ServiceLifecycle

/// Keeps `prediction_log`'s daily partitions: makes the next days' ahead of
/// time and drops those older than `PREDICTION_RETENTION_DAYS`, at start and
/// every hour (the work is Postgres's `conveyor_prediction_retention`).
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

    /// Makes the coming partitions and drops the expired ones; returns their names.
    public func apply() async throws -> [String] {
        try await database.query("SELECT conveyor_prediction_retention(\(days)) AS dropped").compactMap {
            try $0.decodeIfPresent("dropped", as: String.self)
        }
    }
}
