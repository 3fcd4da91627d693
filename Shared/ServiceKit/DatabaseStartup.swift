import Foundation
import Logging
import Migrations
import Postgres

/// Connects to Postgres at start-up, waiting for it to come up, and applies
/// the shared migrations under their advisory lock.
public enum DatabaseStartup {
    /// Returns a migrated client, or throws after `timeout` seconds of trying.
    public static func connect(
        url: String, maxConnections: Int = 4, timeout: Double = 60, logger: Logger
    ) async throws -> PostgresClient {
        let client = PostgresClient(url: url, maxConnections: maxConnections)
        let deadline = Date().addingTimeInterval(timeout)
        var attempt = 0
        while true {
            do {
                try await Migrator().migrate(client, logger: logger)
                return client
            } catch let error as PostgresError {
                guard error.code == .connection, Date() < deadline else {
                    await client.shutdown()
                    throw error
                }
                attempt += 1
                if attempt == 1 || attempt % 10 == 0 {
                    logger.warning("waiting for postgres", metadata: ["error": "\(error)"])
                }
                try await Task.sleep(for: .milliseconds(500))
            }
        }
    }
}
