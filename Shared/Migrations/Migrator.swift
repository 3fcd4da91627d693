import Logging
import Postgres

/// Applies `Schema.migrations` once, under a Postgres advisory lock, so that
/// whichever service starts first migrates and the others wait and skip.
public struct Migrator: Sendable {
    /// Arbitrary, fixed key of the advisory lock ("conveyor" in ASCII).
    static let lockKey: Int64 = 0x636F_6E76_6579_6F72
    let migrations: [Migration]

    public init(migrations: [Migration] = Schema.migrations) {
        self.migrations = migrations
    }

    /// Applies what is missing; returns the versions applied now.
    @discardableResult
    public func migrate(_ client: PostgresClient, logger: Logger) async throws -> [Int] {
        let migrations = migrations
        let applied = try await client.withConnection { connection in
            try connection.query("SELECT pg_advisory_lock(\(Self.lockKey))")
            defer { _ = try? connection.query("SELECT pg_advisory_unlock(\(Self.lockKey))") }
            try connection.execute(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version integer PRIMARY KEY,
                    name text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """)
            let done = Set(
                try connection.query("SELECT version FROM schema_migrations").map {
                    try $0.decode("version", as: Int.self)
                })
            var appliedNow: [Int] = []
            for migration in migrations.sorted(by: { $0.version < $1.version }) where !done.contains(migration.version)
            {
                try connection.transaction { connection in
                    try connection.execute(migration.sql)
                    try connection.query(
                        "INSERT INTO schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))"
                    )
                }
                appliedNow.append(migration.version)
            }
            return appliedNow
        }
        if !applied.isEmpty { logger.info("applied migrations", metadata: ["versions": "\(applied)"]) }
        return applied
    }
}
