import Foundation
import Postgres
import Synchronization

/// A flattened record with the target's metadata, ready to load.
public struct StagedRecord: Sendable {
    public let flat: FlatRecord
    /// `_sdc_received_at` (text, as Postgres takes it).
    public let receivedAt: String?
    public let sequence: Int64
    public let tableVersion: Int64?
}

/// Loads Singer streams into Postgres in the target-postgres layout. Tables
/// are created and evolved (new columns, widened types) from the schema; a
/// batch is COPYed into staging tables and merged in the caller's
/// transaction: per key the newest `_sdc_sequence` wins, and a winning
/// record's child rows replace the old ones.
public final class SingerPostgresLoader: Sendable {
    /// Layouts whose tables are known to be in shape, so a batch skips the catalog.
    private let prepared = Mutex<[String: SingerTableLayout]>([:])

    public init() {}

    /// Creates or evolves the tables of `layout` (once per layout and process).
    /// Call it inside the caller's transaction, and `reset()` if that fails.
    public func prepare(_ layout: SingerTableLayout, on connection: PostgresConnection) throws {
        if prepared.withLock({ $0[layout.stream] == layout }) { return }
        do {
            try connection.query("SELECT pg_advisory_xact_lock(hashtext(\("singer:" + layout.table)))")
            let keys = layout.keyColumns
            try ensure(
                table: layout.table,
                columns: layout.columns.map { ($0.name, $0.type) } + SingerTableLayout.metadataColumns,
                primaryKey: keys.map(\.name), on: connection)
            for child in Self.allChildren(layout.children) {
                try ensure(
                    table: child.table, columns: Self.childColumns(child, keys: keys), primaryKey: [], on: connection)
                if !keys.isEmpty {
                    let index = PostgresQuery.quoteIdentifier(String("\(child.table)_source".prefix(63)))
                    let columns = keys.map { PostgresQuery.quoteIdentifier("_sdc_source_key_\($0.name)") }
                    try connection.execute(
                        "CREATE INDEX IF NOT EXISTS \(index) ON \(PostgresQuery.quoteIdentifier(child.table)) (\(columns.joined(separator: ", ")))"
                    )
                }
            }
        }
        prepared.withLock { $0[layout.stream] = layout }
    }

    /// Forgets what was prepared (after a failed transaction may have undone it).
    public func reset() { prepared.withLock { $0.removeAll() } }

    /// Merges a batch of one stream; returns how many records won (inserted or updated).
    public func load(_ records: [StagedRecord], layout: SingerTableLayout, on connection: PostgresConnection) throws
        -> Int
    {
        guard !records.isEmpty else { return 0 }
        let batchedAt = Date().postgresText
        let target = PostgresQuery.quoteIdentifier(layout.table)
        let rootColumns = layout.columns.map(\.name) + SingerTableLayout.metadataColumns.map(\.0)
        let quoted = rootColumns.map(PostgresQuery.quoteIdentifier).joined(separator: ", ")
        let keys = layout.keyColumns.map { PostgresQuery.quoteIdentifier($0.name) }
        try connection.execute(
            "DROP TABLE IF EXISTS _singer_stage; CREATE TEMP TABLE _singer_stage (LIKE \(target)) ON COMMIT DROP")
        try connection.copyIn(
            table: "_singer_stage", columns: rootColumns,
            rows: records.lazy.map { record in
                record.flat.values + [
                    record.receivedAt, String(record.sequence), batchedAt, record.tableVersion.map { String($0) },
                ]
            })
        guard !keys.isEmpty else {
            return try connection.execute("INSERT INTO \(target) (\(quoted)) SELECT \(quoted) FROM _singer_stage")
                .affectedRows
        }
        let keyList = keys.joined(separator: ", ")
        let keyMatch = { (left: String, right: String) in
            keys.map { "\(left).\($0) = \(right).\($0)" }.joined(separator: " AND ")
        }
        try connection.execute(
            """
            DROP TABLE IF EXISTS _singer_winners;
            CREATE TEMP TABLE _singer_winners ON COMMIT DROP AS
              SELECT DISTINCT ON (\(keyList)) * FROM _singer_stage ORDER BY \(keyList), _sdc_sequence DESC;
            DELETE FROM _singer_winners w USING \(target) t
              WHERE \(keyMatch("t", "w")) AND t._sdc_sequence > w._sdc_sequence;
            """)
        for child in Self.allChildren(layout.children) {
            let columns = Self.childColumns(child, keys: layout.keyColumns).map(\.0)
            let childTable = PostgresQuery.quoteIdentifier(child.table)
            let childQuoted = columns.map(PostgresQuery.quoteIdentifier).joined(separator: ", ")
            let sourceMatch = layout.keyColumns.map {
                "c.\(PostgresQuery.quoteIdentifier("_sdc_source_key_\($0.name)")) = w.\(PostgresQuery.quoteIdentifier($0.name))"
            }.joined(separator: " AND ")
            try connection.execute(
                "DROP TABLE IF EXISTS _singer_child; CREATE TEMP TABLE _singer_child (LIKE \(childTable)) ON COMMIT DROP"
            )
            try connection.copyIn(
                table: "_singer_child", columns: columns,
                rows: records.lazy.flatMap { $0.flat.children[child.table] ?? [] })
            try connection.execute(
                """
                DELETE FROM \(childTable) c USING _singer_winners w WHERE \(sourceMatch);
                INSERT INTO \(childTable) (\(childQuoted))
                  SELECT \(columns.map { "c.\(PostgresQuery.quoteIdentifier($0))" }.joined(separator: ", "))
                  FROM _singer_child c JOIN _singer_winners w ON \(sourceMatch) AND c._sdc_sequence = w._sdc_sequence;
                """)
        }
        let updates = rootColumns.filter { name in !layout.keyProperties.contains(name) }
            .map { "\(PostgresQuery.quoteIdentifier($0)) = EXCLUDED.\(PostgresQuery.quoteIdentifier($0))" }
            .joined(separator: ", ")
        return try connection.execute(
            """
            INSERT INTO \(target) (\(quoted)) SELECT \(quoted) FROM _singer_winners
            ON CONFLICT (\(keyList)) DO UPDATE SET \(updates)
            """
        ).affectedRows
    }

    static func allChildren(_ children: [SingerTableLayout.Child]) -> [SingerTableLayout.Child] {
        children.flatMap { [$0] + allChildren($0.children) }
    }

    /// Source keys, `_sdc_sequence`, `_sdc_level_<n>_id` up to the child's level, then the element columns.
    static func childColumns(_ child: SingerTableLayout.Child, keys: [SingerTableLayout.Column])
        -> [(String, SingerTableLayout.ColumnType)]
    {
        keys.map { ("_sdc_source_key_\($0.name)", $0.type) } + [("_sdc_sequence", .bigint)]
            + (0...child.level).map { ("_sdc_level_\($0)_id", .bigint) } + child.columns.map { ($0.name, $0.type) }
    }

    /// Creates the table, or adds missing columns and widens types that no longer fit.
    private func ensure(
        table: String, columns: [(String, SingerTableLayout.ColumnType)], primaryKey: [String],
        on connection: PostgresConnection
    ) throws {
        let quotedTable = PostgresQuery.quoteIdentifier(table)
        let existing = try connection.query(
            """
            SELECT column_name, data_type FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name = \(table)
            """)
        if existing.count == 0 {
            var definitions = columns.map { "\(PostgresQuery.quoteIdentifier($0.0)) \($0.1.rawValue)" }
            if !primaryKey.isEmpty {
                definitions.append(
                    "PRIMARY KEY (\(primaryKey.map(PostgresQuery.quoteIdentifier).joined(separator: ", ")))")
            }
            try connection.execute("CREATE TABLE IF NOT EXISTS \(quotedTable) (\(definitions.joined(separator: ", ")))")
            return
        }
        var types: [String: String] = [:]
        for row in existing { types[try row.decode("column_name")] = try row.decode("data_type") }
        for (name, type) in columns {
            let column = PostgresQuery.quoteIdentifier(name)
            guard let current = types[name] else {
                try connection.execute("ALTER TABLE \(quotedTable) ADD COLUMN IF NOT EXISTS \(column) \(type.rawValue)")
                continue
            }
            if let widened = Self.widened(current: current, wanted: type) {
                try connection.execute(
                    "ALTER TABLE \(quotedTable) ALTER COLUMN \(column) TYPE \(widened) USING \(column)::\(widened)")
            }
        }
    }

    /// The type a column must become to hold values of `wanted`, or nil when it already can.
    static func widened(current: String, wanted: SingerTableLayout.ColumnType) -> String? {
        let currentType = current == "timestamp with time zone" ? "timestamptz" : current
        if currentType == wanted.rawValue || currentType == "text" { return nil }
        if currentType == "double precision", wanted == .bigint { return nil }
        if currentType == "bigint", wanted == .double { return "double precision" }
        return "text"
    }
}
