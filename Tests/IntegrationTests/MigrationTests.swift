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
}
