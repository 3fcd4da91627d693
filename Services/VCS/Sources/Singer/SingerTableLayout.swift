import JSON

/// How a Singer stream's JSON Schema maps onto Postgres tables, the way the
/// Singer target-postgres loader lays them out: nested objects flattened into
/// `parent__child` columns; arrays into child tables `<stream>__<field>`
/// linked by `_sdc_source_key_<key>` and `_sdc_level_<n>_id`.
public struct SingerTableLayout: Sendable, Equatable {
    /// A Postgres column type for a JSON Schema type.
    public enum ColumnType: String, Sendable, Equatable {
        case bigint
        case double = "double precision"
        case boolean
        case timestamptz
        case text
        case jsonb
    }

    /// A column filled from the record: its name, the JSON path to its value and its type.
    public struct Column: Sendable, Equatable {
        public let name: String
        public let path: [String]
        public let type: ColumnType
        public let nullable: Bool
    }

    /// A child table for an array at `path`; its rows are the array's elements.
    public struct Child: Sendable, Equatable {
        public let table: String
        public let path: [String]
        /// Depth of nesting: 0 for an array in the record, 1 for an array inside its elements, ….
        public let level: Int
        /// Element columns; a scalar element is the single column `_sdc_value` with an empty path.
        public let columns: [Column]
        public let children: [Child]
    }

    public let stream: String
    public let table: String
    public let keyProperties: [String]
    public let columns: [Column]
    public let children: [Child]

    /// A schema that cannot be loaded, with the path of the property at fault.
    public struct SchemaError: Error, CustomStringConvertible {
        public let stream: String
        public let property: String
        public let problem: String
        public var description: String { "stream \(stream): schema of \(property): \(problem)" }
    }

    public static let metadataColumns: [(String, ColumnType)] = [
        ("_sdc_received_at", .timestamptz), ("_sdc_sequence", .bigint), ("_sdc_batched_at", .timestamptz),
        ("_sdc_table_version", .bigint),
    ]

    public init(stream: String, schema: JSONValue, keyProperties: [String]) throws {
        self.stream = stream
        self.table = Self.identifier(stream)
        self.keyProperties = keyProperties
        var columns: [Column] = []
        var children: [Child] = []
        try Self.collect(
            schema, path: [], prefix: "", stream: stream, table: table, level: 0, columns: &columns,
            children: &children)
        for key in keyProperties where !columns.contains(where: { $0.path == [key] }) {
            throw SchemaError(stream: stream, property: key, problem: "is a key property but not a top-level scalar")
        }
        let names = columns.map(\.name)
        if let duplicate = Dictionary(grouping: names, by: { $0 }).first(where: { $0.value.count > 1 })?.key {
            throw SchemaError(stream: stream, property: duplicate, problem: "two properties flatten to the same column")
        }
        self.columns = columns
        self.children = children
    }

    /// The key columns' types, for `_sdc_source_key_<key>` in child tables.
    public var keyColumns: [Column] { keyProperties.compactMap { key in columns.first { $0.path == [key] } } }

    private static func collect(
        _ schema: JSONValue, path: [String], prefix: String, stream: String, table: String, level: Int,
        columns: inout [Column], children: inout [Child]
    ) throws {
        guard case .object(let properties) = schema["properties"] ?? .object([:]) else {
            throw SchemaError(
                stream: stream, property: path.joined(separator: "."), problem: "properties must be an object")
        }
        for name in properties.keys.sorted() {
            let property = properties[name]!
            let propertyPath = path + [name]
            let columnName = prefix.isEmpty ? name : "\(prefix)__\(name)"
            let (types, nullable) = typeSet(property)
            if types == ["object"], property["properties"] != nil {
                try collect(
                    property, path: propertyPath, prefix: columnName, stream: stream, table: table, level: level,
                    columns: &columns, children: &children)
            } else if types == ["array"] {
                children.append(
                    try child(
                        property["items"] ?? .object([:]), path: propertyPath,
                        table: "\(table)__\(identifier(columnName))",
                        stream: stream, level: level))
            } else {
                try checkLength(columnName, stream: stream)
                columns.append(
                    Column(
                        name: columnName, path: propertyPath, type: columnType(types, format: property["format"]),
                        nullable: nullable))
            }
        }
    }

    private static func child(_ items: JSONValue, path: [String], table: String, stream: String, level: Int) throws
        -> Child
    {
        try checkLength(table, stream: stream)
        let (types, nullable) = typeSet(items)
        var columns: [Column] = []
        var children: [Child] = []
        if types == ["object"], items["properties"] != nil {
            try collect(
                items, path: [], prefix: "", stream: stream, table: table, level: level + 1, columns: &columns,
                children: &children)
        } else {
            columns = [
                Column(
                    name: "_sdc_value", path: [], type: columnType(types, format: items["format"]), nullable: nullable)
            ]
        }
        return Child(table: table, path: path, level: level, columns: columns, children: children)
    }

    /// The non-null JSON types a schema allows, and whether null is allowed.
    static func typeSet(_ schema: JSONValue) -> (types: Set<String>, nullable: Bool) {
        var types: Set<String> = []
        switch schema["type"] {
        case .string(let type): types = [type]
        case .array(let list): types = Set(list.compactMap(\.stringValue))
        default:
            for option in (schema["anyOf"]?.arrayValue ?? []) + (schema["oneOf"]?.arrayValue ?? []) {
                types.formUnion(typeSet(option).types.union(typeSet(option).nullable ? ["null"] : []))
            }
            if types.isEmpty { return ([], true) }
        }
        let nullable = types.contains("null")
        types.remove("null")
        return (types, nullable)
    }

    static func columnType(_ types: Set<String>, format: JSONValue?) -> ColumnType {
        switch types {
        case ["integer"]: .bigint
        case ["number"], ["integer", "number"]: .double
        case ["boolean"]: .boolean
        case ["string"]: format?.stringValue == "date-time" ? .timestamptz : .text
        default: .jsonb
        }
    }

    /// Postgres truncates identifiers beyond 63 bytes, which would merge columns: refuse instead.
    private static func checkLength(_ name: String, stream: String) throws {
        guard name.utf8.count <= 63 else {
            throw SchemaError(
                stream: stream, property: name, problem: "the column or table name is longer than 63 bytes")
        }
    }

    /// A stream name as a table name (`-` and `.` become `_`).
    static func identifier(_ name: String) -> String {
        String(name.map { $0.isLetter || $0.isNumber || $0 == "_" ? $0 : "_" })
    }
}
