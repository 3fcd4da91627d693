import Postgres

/// Creates or evolves one table of a stream the way datamill's
/// `upsert_table_helper` (sql_base.py) does, statement for statement, so
/// both loaders end with the same columns in the same order: a new property
/// adds a column (nullable unless the table is empty); a property given a
/// second type is split into `<name>__<t>` columns (its data moved); a
/// column that must now hold null drops NOT NULL; the mappings are kept in
/// the table comment. A table an older `vcs` made (no comment) is adopted:
/// its columns are mapped by name, `_sdc_sequence` is converted from
/// nanoseconds to seconds, and `jsonb` columns become `text`, which datamill can read.
struct SingerTableUpsert {
    let connection: PostgresConnection
    let table: SingerStreamTable
    let name: String

    private var quotedTable: String { PostgresQuery.quoteIdentifier(name) }

    func run() throws -> SingerRemoteTable {
        let physical = try physicalColumns()
        var metadata: SingerTableMetadata
        var isNew = false
        if physical.isEmpty, try !tableExists() {
            try connection.execute("CREATE TABLE \(quotedTable) ()")
            metadata = SingerTableMetadata(path: table.path, version: nil, keyProperties: nil)
            isNew = true
        } else if let comment = try comment() {
            metadata = try SingerTableMetadata(comment: comment, table: name)
            guard metadata.schemaVersion == SingerTableMetadata.currentSchemaVersion else {
                throw SingerTableLayoutError(
                    stream: table.path[0], property: "(table \(name))",
                    problem:
                        "its metadata is of schema version \(metadata.schemaVersion), expected \(SingerTableMetadata.currentSchemaVersion)"
                )
            }
        } else {
            metadata = try adopt(physical)
        }
        if let existing = metadata.keyProperties, !existing.isEmpty || !table.keyProperties.isEmpty {
            if Set(existing) != Set(table.keyProperties) {
                throw SingerTableLayoutError(
                    stream: table.path[0], property: "key_properties",
                    problem: "changed: table \(name) has \(existing), the stream has \(table.keyProperties)")
            }
        } else if !table.keyProperties.isEmpty {
            metadata.keyProperties = table.keyProperties
        }
        try evolve(&metadata, unmapped: Set(physical.map(\.name)).subtracting(metadata.mappings.map(\.column)))
        try setComment(metadata)
        if isNew {
            let indexed =
                table.keyProperties
                + table.properties.map(\.path).compactMap { path in
                    path.count == 1 && (path[0] == SingerTableLayout.sequence || path[0].hasPrefix("_sdc_level_"))
                        ? path[0] : nil
                }
            let columns = indexed.map(SingerIdentifier.canonical)
            try connection.execute(
                "CREATE INDEX \(PostgresQuery.quoteIdentifier(SingerIdentifier.indexName(table: name, columns: columns))) ON \(quotedTable) (\(columns.map(PostgresQuery.quoteIdentifier).joined(separator: ", ")))"
            )
        }
        return try remote(metadata)
    }

    /// datamill's column loop: every (path, type) of the stream, then the mapped paths the stream no longer has.
    private func evolve(_ metadata: inout SingerTableMetadata, unmapped: Set<String>) throws {
        let streamed = Set(table.properties.map(\.path))
        var columns = table.slots.map { ($0.path, $0.type) }
        for mapping in metadata.mappings where !streamed.contains(mapping.from) {
            columns.append((mapping.from, mapping.type.madeNullable))
        }
        let empty = try connection.execute("SELECT NOT EXISTS (SELECT 1 FROM \(quotedTable)) AS empty")
        let tableEmpty = try empty.first?.decode("empty", as: Bool.self) ?? true
        for (path, type) in columns {
            let column = Self.columnName(path, type, metadata.mappings, reserved: unmapped)
            let nullableType = type.madeNullable
            let samePath = metadata.mappings.filter { $0.from == path }
            if samePath.isEmpty {
                let added = tableEmpty ? type : nullableType
                try addColumn(column, added)
                metadata.setMapping(.init(column: column, from: path, type: added))
                continue
            }
            if samePath.contains(where: {
                $0.type.sqlDefinition == type.sqlDefinition || $0.type.sqlDefinition == nullableType.sqlDefinition
            }) {
                continue
            }
            if samePath.contains(where: { $0.type.shorthand == type.shorthand }) {
                try connection.execute(
                    "ALTER TABLE \(quotedTable) ALTER COLUMN \(PostgresQuery.quoteIdentifier(column)) DROP NOT NULL")
                metadata.setMapping(.init(column: column, from: path, type: nullableType))
                continue
            }
            if samePath.count == 1 {
                // The first second type: the existing column moves to `<name>__<its type>`.
                let existing = samePath[0]
                var after = metadata.mappings.filter { $0.from != path }
                after.append(.init(column: column, from: path, type: nullableType))
                let renamed = Self.columnName(path, existing.type, after, reserved: unmapped)
                metadata.mappings.removeAll { $0.column == existing.column }
                metadata.setMapping(.init(column: renamed, from: path, type: existing.type.madeNullable))
                metadata.setMapping(.init(column: column, from: path, type: nullableType))
                try addColumn(renamed, existing.type.madeNullable)
                try addColumn(column, nullableType)
                try connection.execute(
                    "UPDATE \(quotedTable) SET \(PostgresQuery.quoteIdentifier(renamed)) = \(PostgresQuery.quoteIdentifier(existing.column))"
                )
                try connection.execute(
                    "ALTER TABLE \(quotedTable) DROP COLUMN \(PostgresQuery.quoteIdentifier(existing.column))")
            } else {
                try addColumn(column, nullableType)
                metadata.setMapping(.init(column: column, from: path, type: nullableType))
            }
        }
    }

    /// datamill's `_canonicalize_column_identifier`: the mapped column for
    /// (path, type), else the path's canonical name, with `__<type>` when the
    /// path already has a column of another type and `__<n>` on a name clash.
    static func columnName(
        _ path: [String], _ type: SingerFieldType, _ mappings: [SingerTableMetadata.Mapping], reserved: Set<String>
    ) -> String {
        if let mapped = mappings.first(where: { $0.from == path && $0.type.shorthand == type.shorthand }) {
            return mapped.column
        }
        let raw = SingerIdentifier.canonical(path.joined(separator: SingerIdentifier.separator))
        var suffix = ""
        if mappings.contains(where: { $0.from == path }) { suffix = SingerIdentifier.separator + type.shorthand }
        var name = SingerIdentifier.truncated(raw, suffix: suffix)
        let taken = Set(mappings.map(\.column)).union(reserved)
        var counter = 0
        while taken.contains(name) {
            counter += 1
            name = SingerIdentifier.truncated(raw, suffix: suffix + SingerIdentifier.separator + String(counter))
        }
        return name
    }

    private func addColumn(_ column: String, _ type: SingerFieldType) throws {
        try connection.execute(
            "ALTER TABLE \(quotedTable) ADD COLUMN \(PostgresQuery.quoteIdentifier(column)) \(type.sqlDefinition)")
    }

    private func setComment(_ metadata: SingerTableMetadata) throws {
        try connection.execute("COMMENT ON TABLE \(quotedTable) IS \(PostgresQuery.quoteLiteral(metadata.comment))")
    }

    /// Maps the columns of a table an older `vcs` created (no comment) to the stream's slots.
    private func adopt(_ physical: [(name: String, dataType: String, nullable: Bool)]) throws -> SingerTableMetadata {
        var metadata = SingerTableMetadata(path: table.path, version: nil, keyProperties: nil)
        for property in table.properties {
            for type in property.types {
                let canonical = SingerIdentifier.truncated(
                    SingerIdentifier.canonical(property.path.joined(separator: SingerIdentifier.separator)),
                    suffix: property.types.count > 1 ? SingerIdentifier.separator + type.shorthand : "")
                let candidates = [canonical, property.path.joined(separator: SingerIdentifier.separator)]
                guard
                    let column = physical.first(where: { column in
                        candidates.contains(column.name) && !metadata.mappings.contains { $0.column == column.name }
                    }),
                    let columnType = SingerFieldType(sqlDataType: column.dataType, nullable: column.nullable),
                    columnType.kind == type.kind
                else { continue }
                metadata.mappings.append(.init(column: column.name, from: property.path, type: columnType))
            }
        }
        for column in physical where column.dataType == "jsonb" {
            let quoted = PostgresQuery.quoteIdentifier(column.name)
            try connection.execute("ALTER TABLE \(quotedTable) ALTER COLUMN \(quoted) TYPE text USING \(quoted)::text")
        }
        if physical.contains(where: { $0.name == SingerTableLayout.sequence && $0.dataType == "bigint" }) {
            // Older `vcs` wrote nanoseconds; datamill and this loader write seconds.
            try connection.execute(
                "UPDATE \(quotedTable) SET _sdc_sequence = _sdc_sequence / 1000000000 WHERE _sdc_sequence >= 100000000000000"
            )
        }
        return metadata
    }

    private func remote(_ metadata: SingerTableMetadata) throws -> SingerRemoteTable {
        var columns: [String] = []
        var positions: [String: Int] = [:]
        var slotColumns: [Int] = []
        for slot in table.slots {
            let mapped =
                metadata.mappings.first { $0.from == slot.path && $0.type.shorthand == slot.type.shorthand }
                ?? (slot.type.kind == .integer
                    ? metadata.mappings.first { $0.from == slot.path && $0.type.kind == .number } : nil)
            guard let column = mapped?.column else {
                throw SingerTableLayoutError(
                    stream: table.path[0], property: slot.path.joined(separator: "."),
                    problem: "has no column of type \(slot.type.jsonType) in table \(name)")
            }
            if let position = positions[column] {
                slotColumns.append(position)
            } else {
                positions[column] = columns.count
                slotColumns.append(columns.count)
                columns.append(column)
            }
        }
        let keyColumns = try table.keyProperties.map { key in
            guard let column = metadata.column(from: [key]) else {
                throw SingerTableLayoutError(
                    stream: table.path[0], property: key, problem: "has no column in table \(name)")
            }
            return column
        }
        return SingerRemoteTable(
            name: name, columns: columns, slotColumns: slotColumns, keyColumns: keyColumns,
            sequenceColumn: metadata.column(from: [SingerTableLayout.sequence]) ?? SingerTableLayout.sequence,
            receivedColumn: metadata.mappings.first {
                $0.from == [SingerTableLayout.receivedAt] && $0.type.kind == .dateTime
            }?.column)
    }

    private func tableExists() throws -> Bool {
        try connection.query(
            """
            SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = current_schema() AND c.relname = \(name) AND c.relkind IN ('r', 'p')
            """
        ).count > 0
    }

    private func physicalColumns() throws -> [(name: String, dataType: String, nullable: Bool)] {
        try connection.query(
            """
            SELECT column_name, data_type, is_nullable = 'YES' AS nullable FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name = \(name) ORDER BY ordinal_position
            """
        ).map { row in
            (try row.decode("column_name"), try row.decode("data_type"), try row.decode("nullable"))
        }
    }

    private func comment() throws -> String? {
        try connection.query(
            """
            SELECT obj_description(c.oid, 'pg_class') AS comment FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = current_schema() AND c.relname = \(name)
            """
        ).first?.decodeIfPresent("comment")
    }
}
