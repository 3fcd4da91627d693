import Foundation
import Logging
import Migrations
import Postgres
import ServingService
import Testing

/// `prediction_log` is partitioned by day: the migration keeps what was
/// logged, and retention drops whole partitions older than the setting.
@Suite("prediction log partitions and retention")
struct RetentionTests {
    static func log(_ database: PostgresClient, daysAgo: Int, id: String) async throws {
        try await database.query(
            """
            INSERT INTO prediction_log (logged_at, request_id, model_version, inputs, outputs, latency_us)
            VALUES (now() - make_interval(days => \(daysAgo)), \(id), 'v1', '[{"a": 1}]', '[2]', 5)
            """)
    }

    static func ids(_ database: PostgresClient) async throws -> [String] {
        try await database.query("SELECT request_id FROM prediction_log ORDER BY request_id").map {
            try $0.decode("request_id", as: String.self)
        }
    }

    @Test(
        "migrating keeps every logged prediction, in daily partitions; retention drops a partition older than the setting and keeps the rest"
    )
    func partitionsAndRetention() async throws {
        let url = try await TestPostgres.freshDatabase()
        let database = PostgresClient(url: url, maxConnections: 2)
        defer { Task { await database.shutdown() } }
        let before = Schema.migrations.filter { $0.version < 11 }
        try await Migrator(migrations: before).migrate(database, logger: Logger(label: "test"))
        for (days, id) in [(40, "a-40-days"), (10, "b-10-days"), (0, "c-today")] {
            try await Self.log(database, daysAgo: days, id: id)
        }
        try await Migrator().migrate(database, logger: Logger(label: "test"))
        #expect(try await Self.ids(database) == ["a-40-days", "b-10-days", "c-today"], "the migration keeps every row")
        let partitions = try await database.query(
            """
            SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'prediction_log'::regclass ORDER BY 1
            """
        ).map { try $0.decode("relname", as: String.self) }
        #expect(
            partitions.count >= 3 + 4, "a partition per logged day, today and 3 ahead, and the default: \(partitions)")
        // A row of a day nobody made a partition for waits in the default partition.
        try await Self.log(database, daysAgo: 60, id: "d-60-days")
        let inDefault = try await database.query("SELECT count(*) AS n FROM prediction_log_default")
        #expect(try inDefault.first?.decode("n", as: Int.self) == 1)

        // Monitoring's rollups of those days (one sealed period each) go with them.
        try await database.query(
            """
            INSERT INTO prediction_rollup_periods (period, instances)
            SELECT conveyor_rollup_period(now() - make_interval(days => d)), 1 FROM unnest(ARRAY[40, 10, 0]) d
            """)
        try await database.query(
            """
            INSERT INTO prediction_rollups (period, model_version, feature, bucket, n, total, outside)
            SELECT period, 'v1', 'a', '1', 1, 1, 0 FROM prediction_rollup_periods
            """)
        let retention = PredictionLogRetention(database: database, days: 30, logger: Logger(label: "test"))
        let dropped = try await retention.apply()
        #expect(dropped.count == 1, "the 40-day-old partition: \(dropped)")
        #expect(try await Self.ids(database) == ["b-10-days", "c-today"])
        let rollups = try await database.query(
            """
            SELECT (SELECT count(*) FROM prediction_rollup_periods) AS periods,
                (SELECT count(*) FROM prediction_rollups) AS bins
            """
        ).first
        #expect(try rollups?.decode("periods", as: Int.self) == 2, "the 40-day-old period is dropped")
        #expect(try rollups?.decode("bins", as: Int.self) == 2, "with its bins")
        #expect(try await retention.apply().isEmpty, "a second pass has nothing to drop")
        // The unique request id still refuses a replayed row (ON CONFLICT in the spill replay).
        let replay = try await database.query(
            """
            INSERT INTO prediction_log (logged_at, request_id, model_version, inputs, outputs, latency_us)
            SELECT logged_at, request_id, model_version, inputs, outputs, latency_us FROM prediction_log
            WHERE request_id = 'c-today'
            ON CONFLICT (request_id, logged_at) DO NOTHING
            """)
        #expect(replay.affectedRows == 0)
    }
}
