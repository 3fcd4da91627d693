/// One column type of datamill's simplified JSON Schema: a single JSON type
/// (a string with `format: date-time` counts as its own), nullable or not.
public struct SingerFieldType: Hashable, Sendable {
    /// The JSON type a column holds.
    public enum Kind: Sendable, Hashable {
        case dateTime, boolean, integer, number, string
    }

    public var kind: Kind
    public var nullable: Bool
    /// Whether `null` comes first in the type list, as in the `_sdc_*` columns datamill adds.
    var nullFirst = false

    init(_ kind: Kind, nullable: Bool, nullFirst: Bool = false) {
        self.kind = kind
        self.nullable = nullable
        self.nullFirst = nullable && nullFirst
    }

    /// The JSON Schema type name.
    var jsonType: String {
        switch kind {
        case .dateTime, .string: "string"
        case .boolean: "boolean"
        case .integer: "integer"
        case .number: "number"
        }
    }

    /// The `type` list of datamill's column mapping.
    var typeList: [String] {
        guard nullable else { return [jsonType] }
        return nullFirst ? ["null", jsonType] : [jsonType, "null"]
    }

    /// datamill's one-letter type name, used as a column suffix when a property has several types.
    var shorthand: String {
        switch kind {
        case .dateTime: "t"
        case .boolean: "b"
        case .integer: "i"
        case .number: "f"
        case .string: "s"
        }
    }

    /// The Postgres column type.
    var sqlType: String {
        switch kind {
        case .dateTime: "timestamp with time zone"
        case .boolean: "boolean"
        case .integer: "bigint"
        case .number: "double precision"
        case .string: "text"
        }
    }

    /// The column definition datamill compares types by (`json_schema_to_sql_type`).
    var sqlDefinition: String { nullable ? sqlType : sqlType + " NOT NULL" }

    /// The same type allowing null (unchanged when it already does).
    var madeNullable: SingerFieldType {
        nullable ? self : SingerFieldType(kind, nullable: true)
    }

    /// Sort rank of a literal among the members of a simplified `anyOf`.
    var rank: Int {
        switch kind {
        case .dateTime: 0
        case .boolean: 3
        case .integer: 4
        case .number: 5
        case .string: 6
        }
    }

    /// The type of a mapping in table metadata: its `type` list and `format`.
    init?(typeList: [String], format: String?) {
        let nonNull = typeList.filter { $0 != "null" }
        guard nonNull.count == 1, typeList.count <= 2 else { return nil }
        let nullable = typeList.count == 2
        let nullFirst = typeList.first == "null"
        switch nonNull[0] {
        case "string": self.init(format == "date-time" ? .dateTime : .string, nullable: nullable, nullFirst: nullFirst)
        case "boolean": self.init(.boolean, nullable: nullable, nullFirst: nullFirst)
        case "integer": self.init(.integer, nullable: nullable, nullFirst: nullFirst)
        case "number": self.init(.number, nullable: nullable, nullFirst: nullFirst)
        default: return nil
        }
    }

    /// The type of an existing column, as datamill reads it (`sql_type_to_json_schema`); nil for others.
    init?(sqlDataType: String, nullable: Bool) {
        switch sqlDataType {
        case "timestamp with time zone": self.init(.dateTime, nullable: nullable)
        case "bigint": self.init(.integer, nullable: nullable)
        case "double precision": self.init(.number, nullable: nullable)
        case "boolean": self.init(.boolean, nullable: nullable)
        case "text": self.init(.string, nullable: nullable)
        default: return nil
        }
    }
}
