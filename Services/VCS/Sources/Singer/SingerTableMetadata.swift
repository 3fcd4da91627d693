import JSON

/// The JSON that datamill's `singer-target-postgres` keeps in each table's
/// comment (its docs/TableMetadata.md, schema version 2): the table's path in
/// the stream, key properties, and which property path and type every column
/// holds. Both loaders read and write it, so each can continue the other's tables.
struct SingerTableMetadata: Equatable {
    /// A column, the property path it is filled from, and its type.
    struct Mapping: Equatable {
        var column: String
        var from: [String]
        var type: SingerFieldType
    }

    static let currentSchemaVersion = 2

    var path: [String]
    var version: Int64?
    var schemaVersion = currentSchemaVersion
    var keyProperties: [String]?
    /// In the order of the comment's `mappings` object (datamill appends a changed mapping at the end).
    var mappings: [Mapping] = []

    /// The first column filled from `path` (datamill's `fetch_column_from_path`).
    func column(from path: [String]) -> String? { mappings.first { $0.from == path }?.column }

    /// Replaces the mapping of `column` (moving it to the end, as a Python dict pop and set does).
    mutating func setMapping(_ mapping: Mapping) {
        mappings.removeAll { $0.column == mapping.column }
        mappings.append(mapping)
    }

    /// Reads a table comment; throws when it is not this metadata.
    init(comment: String, table: String) throws {
        func invalid(_ problem: String) -> SingerTableLayoutError {
            SingerTableLayoutError(stream: table, property: "(table comment)", problem: problem)
        }
        guard let (json, order) = try? JSONValue.parseKeepingKeyOrder(Array(comment.utf8)),
            case .object(let fields) = json
        else { throw invalid("is not the JSON metadata target-postgres keeps there") }
        guard let path = fields["path"]?.arrayValue?.compactMap(\.stringValue), !path.isEmpty else {
            throw invalid("has no \"path\"")
        }
        self.path = path
        self.version = fields["version"]?.integerValue
        self.schemaVersion = fields["schema_version"]?.integerValue.map { Int($0) } ?? 0
        self.keyProperties = fields["key_properties"]?.arrayValue?.compactMap(\.stringValue)
        if case .object(let mappings) = fields["mappings"] {
            for column in order.keys(of: mappings, at: ["mappings"]) {
                let mapping = mappings[column]!
                guard let from = mapping["from"]?.arrayValue?.compactMap(\.stringValue),
                    let types = mapping["type"]?.arrayValue?.compactMap(\.stringValue),
                    let type = SingerFieldType(typeList: types, format: mapping["format"]?.stringValue)
                else { throw invalid("maps column \(column) to a type vcs target does not know") }
                self.mappings.append(Mapping(column: column, from: from, type: type))
            }
        }
    }

    init(path: [String], version: Int64?, keyProperties: [String]?) {
        self.path = path
        self.version = version
        self.keyProperties = keyProperties
    }

    /// The comment text, written as Python's `json.dumps` writes it (key order, spacing, `\u` escapes).
    var comment: String {
        var text = "{\"path\": \(Self.list(path)), \"version\": \(version.map { String($0) } ?? "null"), "
        text += "\"schema_version\": \(schemaVersion)"
        if let keyProperties { text += ", \"key_properties\": \(Self.list(keyProperties))" }
        if !mappings.isEmpty {
            let entries = mappings.map { mapping in
                var entry = "\(Self.string(mapping.column)): {\"type\": \(Self.list(mapping.type.typeList)), "
                entry += "\"from\": \(Self.list(mapping.from))"
                if mapping.type.kind == .dateTime { entry += ", \"format\": \"date-time\"" }
                return entry + "}"
            }
            text += ", \"mappings\": {\(entries.joined(separator: ", "))}"
        }
        return text + "}"
    }

    private static func list(_ items: [String]) -> String { "[" + items.map(string).joined(separator: ", ") + "]" }

    /// A JSON string as Python writes it with `ensure_ascii`: everything outside printable ASCII escaped.
    static func string(_ text: String) -> String {
        var out = "\""
        for unit in text.utf16 {
            switch unit {
            case 0x22: out += "\\\""
            case 0x5C: out += "\\\\"
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0x08: out += "\\b"
            case 0x0C: out += "\\f"
            case 0x20...0x7E: out.unicodeScalars.append(Unicode.Scalar(unit)!)
            default:
                let hex = String(unit, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            }
        }
        return out + "\""
    }
}
