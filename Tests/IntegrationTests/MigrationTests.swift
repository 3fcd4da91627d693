import Logging
import Migrations
import Postgres
import Testing

@Suite("Migrations")
struct MigrationTests {
    @Test("concurrent starts apply each migration exactly once, and a rerun applies nothing")
    func idempotentUnderConcurrency() async throws {
        let url = try await TestPostgres.freshDatabase()
        let clients = (0..<3).map { _ in PostgresClient(url: url, maxConnections: 1) }
        defer { for client in clients { Task { await client.shutdown() } } }
        let applied = try await withThrowingTaskGroup(of: [Int].self) { group in
            for client in clients {
                group.addTask { try await Migrator().migrate(client, logger: Logger(label: "test")) }
            }
            return try await group.reduce(into: [Int]()) { $0 += $1 }
        }
        #expect(applied.sorted() == Schema.migrations.map(\.version).sorted())
        #expect(try await Migrator().migrate(clients[0], logger: Logger(label: "test")).isEmpty)
        let versions = try await clients[0].query("SELECT version FROM schema_migrations ORDER BY version")
        #expect(try versions.map { try $0.decode("version", as: Int.self) } == Schema.migrations.map(\.version))
    }

    @Test(
        "the harness points DATABASE_URL at a fresh database without touching its user or host",
        arguments: [
            ("postgresql://postgres@127.0.0.1:5432/postgres", "postgresql://postgres@127.0.0.1:5432/test_x"),
            (
                "postgresql://postgres:pw@db/postgres?sslmode=disable",
                "postgresql://postgres:pw@db/test_x?sslmode=disable"
            ),
            ("postgres://u@h/app", "postgres://u@h/test_x"),
            ("host=/tmp user=postgres dbname=postgres", "host=/tmp user=postgres dbname=test_x"),
        ])
    func harnessConnectionString(_ base: String, _ expected: String) {
        #expect(TestPostgres.connectionString(base, database: "test_x") == expected)
    }
}
