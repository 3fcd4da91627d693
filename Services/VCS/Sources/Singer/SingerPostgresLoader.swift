import Foundation
import Postgres
import Synchronization

/// Loads Singer streams into Postgres in the layout of datamill's
/// `singer-target-postgres` (names, child tables, split columns, table
/// comments: see `SingerTableLayout` and `SingerTableUpsert`). A batch is
/// COPYed into staging tables and merged in the caller's transaction: per
/// key the record extracted last wins (see `load`), and a winning record's
/// child rows replace the old ones.
public final class SingerPostgresLoader: Sendable {
    /// Tables known to be in shape per stream, so a batch skips the catalog.
    private let prepared = Mutex<[String: (layout: SingerTableLayout, tables: [SingerRemoteTable])]>([:])

    public init() {}

    /// Creates or evolves the tables of `layout` (once per layout and process).
    /// Call it inside the caller's transaction, and `reset()` if that fails.
    @discardableResult
    func prepare(_ layout: SingerTableLayout, on connection: PostgresConnection) throws -> [SingerRemoteTable] {
        if let known = prepared.withLock({ $0[layout.stream] }), known.layout == layout { return known.tables }
        try connection.query("SELECT pg_advisory_xact_lock(hashtext(\("singer:" + layout.stream)))")
        var names = try tableNames(on: connection)
        var tables: [SingerRemoteTable] = []
        for table in layout.tables {
            let name = names[table.path] ?? Self.newTableName(table.path, taken: Set(names.values))
            names[table.path] = name
            tables.append(try SingerTableUpsert(connection: connection, table: table, name: name).run())
        }
        prepared.withLock { $0[layout.stream] = (layout, tables) }
        return tables
    }

    /// Prepares the tables of `layout` in a transaction of their own (`vcs` does this at start,
    /// so the tables and their comments exist before any loader, this one or datamill's, writes).
    public func prepare(_ layout: SingerTableLayout, database: PostgresClient) async throws {
        do {
            try await database.transaction { connection in _ = try self.prepare(layout, on: connection) }
        } catch {
            reset()
            throw error
        }
    }

    /// Forgets what was prepared (after a failed transaction may have undone it).
    public func reset() { prepared.withLock { $0.removeAll() } }

    /// The table each stream path is loaded into, from the table comments (datamill's table mapping cache).
    private func tableNames(on connection: PostgresConnection) throws -> [[String]: String] {
        let rows = try connection.query(
            """
            SELECT c.relname AS name, obj_description(c.oid, 'pg_class') AS comment
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
              AND obj_description(c.oid, 'pg_class') LIKE '{%'
            """)
        var names: [[String]: String] = [:]
        for row in rows {
            let name: String = try row.decode("name")
            guard let comment: String = try row.decodeIfPresent("comment"),
                let metadata = try? SingerTableMetadata(comment: comment, table: name)
            else { continue }
            names[metadata.path] = name
        }
        return names
    }

    /// datamill's `add_table_mapping_helper`: the path's canonical name, `__<n>` on a clash.
    static func newTableName(_ path: [String], taken: Set<String>) -> String {
        let raw = SingerIdentifier.canonical(path.joined(separator: SingerIdentifier.separator))
        var name = SingerIdentifier.truncated(raw)
        var counter = 0
        while taken.contains(name) {
            counter += 1
            name = SingerIdentifier.truncated(raw, suffix: SingerIdentifier.separator + String(counter))
        }
        return name
    }

    /// Merges a batch of one stream; returns how many records won (inserted or replaced).
    public func load(_ records: [FlatRecord], layout: SingerTableLayout, on connection: PostgresConnection) throws
        -> SingerLoadResult
    {
        guard !records.isEmpty else { return SingerLoadResult() }
        var result = SingerLoadResult()
        let tables = try prepare(layout, on: connection)
        let batchedAt = layout.rootSlot(SingerTableLayout.batchedAt, .dateTime).map { ($0, Date().postgresText) }
        let root = tables[0]
        let target = PostgresQuery.quoteIdentifier(root.name)
        let quoted = root.columns.map(PostgresQuery.quoteIdentifier).joined(separator: ", ")
        try stage(
            "_singer_stage", like: root,
            rows: records.lazy.enumerated().flatMap { order, record in
                record.rows[0].lazy.map { row in
                    var row = row
                    if let (slot, text) = batchedAt { row[slot] = text }
                    return (row, order)
                }
            }, on: connection)
        let keys = root.keyColumns.map(PostgresQuery.quoteIdentifier)
        let keyList = keys.joined(separator: ", ")
        let keyMatch = { (left: String, right: String) in
            keys.map { "\(left).\($0) = \(right).\($0)" }.joined(separator: " AND ")
        }
        // Like is compared with like: `_sdc_received_at` is the record's `time_extracted` for
        // both loaders (to the microsecond here, to 100 µs in datamill), while `_sdc_sequence`
        // is `time_extracted` here but the load time in datamill, so comparing sequences would
        // let a row datamill loaded late hide a version extracted after it. Sequences decide
        // only where a row has no `_sdc_received_at`; a tie goes to the record loaded now, and
        // within a batch to the later record.
        let sequence = PostgresQuery.quoteIdentifier(root.sequenceColumn)
        let received = root.receivedColumn.map(PostgresQuery.quoteIdentifier)
        let newer =
            received.map {
                "CASE WHEN t.\($0) IS NOT NULL AND w.\($0) IS NOT NULL THEN t.\($0) > w.\($0) ELSE t.\(sequence) > w.\(sequence) END"
            } ?? "t.\(sequence) > w.\(sequence)"
        try connection.execute(
            """
            DROP TABLE IF EXISTS _singer_winners;
            CREATE TEMP TABLE _singer_winners ON COMMIT DROP AS
              SELECT DISTINCT ON (\(keyList)) * FROM _singer_stage
              ORDER BY \(keyList), \(received.map { "\($0) DESC NULLS LAST, " } ?? "")\(sequence) DESC NULLS LAST, _singer_order DESC;
            """)
        let superseded = try connection.execute(
            "DELETE FROM _singer_winners w USING \(target) t WHERE \(keyMatch("t", "w")) AND \(newer)"
        ).affectedRows
        if superseded > 0 { result.superseded[root.name] = superseded }
        try connection.execute("DELETE FROM \(target) t USING _singer_winners w WHERE \(keyMatch("t", "w"))")
        for (index, child) in tables.enumerated().dropFirst() {
            let childTable = PostgresQuery.quoteIdentifier(child.name)
            let childColumns = child.columns.map(PostgresQuery.quoteIdentifier)
            let sourceMatch = zip(child.keyColumns, keys).map { "c.\(PostgresQuery.quoteIdentifier($0)) = w.\($1)" }
                .joined(separator: " AND ")
            try stage(
                "_singer_child", like: child,
                rows: records.lazy.enumerated().flatMap { order, record in
                    record.rows[index].lazy.map { ($0, order) }
                }, on: connection)
            let inserted = try connection.execute(
                """
                DELETE FROM \(childTable) c USING _singer_winners w WHERE \(sourceMatch);
                INSERT INTO \(childTable) (\(childColumns.joined(separator: ", ")))
                  SELECT \(childColumns.map { "c.\($0)" }.joined(separator: ", "))
                  FROM _singer_child c JOIN _singer_winners w ON \(sourceMatch) AND c._singer_order = w._singer_order;
                """
            ).affectedRows
            result.rowsByTable[child.name, default: 0] += inserted
        }
        result.upserted = try connection.execute(
            "INSERT INTO \(target) (\(quoted)) SELECT \(quoted) FROM _singer_winners"
        ).affectedRows
        result.rowsByTable[root.name, default: 0] += result.upserted
        return result
    }

    /// COPYs rows (slot values, and the record's place in the batch) into a temporary copy of `table`.
    private func stage(
        _ stage: String, like table: SingerRemoteTable, rows: some Sequence<([String?], Int)>,
        on connection: PostgresConnection
    ) throws {
        try connection.execute(
            """
            DROP TABLE IF EXISTS \(stage);
            CREATE TEMP TABLE \(stage) (LIKE \(PostgresQuery.quoteIdentifier(table.name))) ON COMMIT DROP;
            ALTER TABLE \(stage) ADD COLUMN _singer_order bigint;
            """)
        let width = table.columns.count
        try connection.copyIn(
            table: stage, columns: table.columns + ["_singer_order"],
            rows: rows.lazy.map { slots, order in
                var values = [String?](repeating: nil, count: width + 1)
                for (slot, value) in slots.enumerated() where value != nil {
                    let column = table.slotColumns[slot]
                    if values[column] == nil { values[column] = value }
                }
                values[width] = String(order)
                return values
            })
    }
}
