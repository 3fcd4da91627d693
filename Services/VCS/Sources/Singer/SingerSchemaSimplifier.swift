import JSON

/// A property's JSON Schema reduced the way datamill's `json_schema.simplify`
/// reduces it: every member has one type; several types become a sorted `anyOf`.
indirect enum SimplifiedSchema: Sendable {
    case literal(SingerFieldType)
    case object([SimplifiedProperty], nullable: Bool)
    case array(items: SimplifiedSchema, nullable: Bool)
    case anyOf([SimplifiedSchema])
    /// Holds nothing a column can store (only `null`, or types datamill ignores).
    case nothing(nullable: Bool)

    var isNullable: Bool {
        switch self {
        case .literal(let type): type.nullable
        case .object(_, let nullable), .array(_, let nullable), .nothing(let nullable): nullable
        case .anyOf(let members): members.contains { $0.isNullable }
        }
    }

    /// The members a property stands for: an `anyOf`'s, or itself.
    var members: [SimplifiedSchema] {
        if case .anyOf(let members) = self { return members }
        return [self]
    }

    func madeNullable() -> SimplifiedSchema {
        switch self {
        case .literal(let type): .literal(type.madeNullable)
        case .object(let properties, _): .object(properties, nullable: true)
        case .array(let items, _): .array(items: items, nullable: true)
        case .anyOf(let members): .anyOf(members.map { $0.madeNullable() })
        case .nothing: .nothing(nullable: true)
        }
    }

    /// Order of `anyOf` members: datamill sorts them by their JSON text
    /// (`{"format"…` date-times, `{"items"…`, `{"properties"…`, then literals by type name).
    fileprivate var rank: Int {
        switch self {
        case .literal(let type): type.rank
        case .array: 1
        case .object: 2
        case .anyOf, .nothing: 7
        }
    }
}

/// Simplifies JSON Schemas as datamill does (`json_schema.py`).
struct SingerSchemaSimplifier {
    let stream: String
    let keyOrder: JSONKeyOrder

    /// Simplifies `schema`, found at `path` in the SCHEMA message's `schema` (for key order).
    func simplify(_ schema: JSONValue, path: [String]) throws -> SimplifiedSchema {
        guard case .object(let fields) = schema else {
            throw SingerTableLayoutError(
                stream: stream, property: Self.describe(path), problem: "must be a JSON Schema object")
        }
        if fields["$ref"] != nil || fields["allOf"] != nil {
            throw SingerTableLayoutError(
                stream: stream, property: Self.describe(path),
                problem: "uses $ref or allOf, which vcs target does not expand")
        }
        if case .array(let options) = fields["anyOf"] {
            return merge(
                try options.enumerated().map { index, option in
                    try simplify(option, path: path + ["anyOf", String(index)])
                })
        }
        return try simplifyTypes(fields, path: path)
    }

    /// A schema whose `type` may list several types (datamill's implicit `anyOf`).
    private func simplifyTypes(_ fields: [String: JSONValue], path: [String]) throws -> SimplifiedSchema {
        let types: [String]
        switch fields["type"] {
        case .string(let type): types = [type]
        case .array(let list): types = list.compactMap(\.stringValue)
        default: types = ["object"]
        }
        if Set(types) == ["null"] { return .nothing(nullable: true) }
        let nullable = types.contains("null")
        var remaining = Set(types)
        remaining.remove("null")
        var members: [SimplifiedSchema] = []
        if remaining.contains("string"), fields["format"]?.stringValue == "date-time" {
            members.append(.literal(SingerFieldType(.dateTime, nullable: false)))
            remaining.remove("string")
        }
        if types.contains("object") || fields["properties"] != nil || fields.isEmpty {
            var properties: [SimplifiedProperty] = []
            if case .object(let declared) = fields["properties"] {
                let propertiesPath = path + ["properties"]
                for name in keyOrder.keys(of: declared, at: propertiesPath) {
                    properties.append(
                        SimplifiedProperty(
                            name: name, schema: try simplify(declared[name]!, path: propertiesPath + [name])))
                }
            }
            members.append(.object(properties, nullable: false))
            remaining.remove("object")
        }
        if types.contains("array"), let items = fields["items"] {
            members.append(.array(items: try simplify(items, path: path + ["items"]), nullable: false))
            remaining.remove("array")
        }
        for type in remaining {
            switch type {
            case "string": members.append(.literal(SingerFieldType(.string, nullable: false)))
            case "integer": members.append(.literal(SingerFieldType(.integer, nullable: false)))
            case "number": members.append(.literal(SingerFieldType(.number, nullable: false)))
            case "boolean": members.append(.literal(SingerFieldType(.boolean, nullable: false)))
            default: break  // datamill keeps no column for other types
            }
        }
        if nullable { members = members.map { $0.madeNullable() } }
        if members.isEmpty { return .nothing(nullable: nullable) }
        return merge(members)
    }

    /// datamill's `_simplify__anyof`: literals deduplicated, objects merged,
    /// arrays' items merged, nested `anyOf`s flattened, all nullable if one is.
    private func merge(_ schemas: [SimplifiedSchema]) -> SimplifiedSchema {
        var pending = schemas
        var literals: Set<SingerFieldType.Kind> = []
        var anyNullable = false
        var objectSeen = false
        var objectProperties: [(String, [SimplifiedSchema])] = []
        var arrayItems: [SimplifiedSchema] = []
        // datamill pops from the end of its list; merged properties follow that order.
        while let schema = pending.popLast() {
            anyNullable = anyNullable || schema.isNullable
            switch schema {
            case .literal(let type): literals.insert(type.kind)
            case .anyOf(let members): pending += members
            case .object(let properties, _):
                objectSeen = true
                for property in properties {
                    if let index = objectProperties.firstIndex(where: { $0.0 == property.name }) {
                        objectProperties[index].1.append(property.schema)
                    } else {
                        objectProperties.append((property.name, [property.schema]))
                    }
                }
            case .array(let items, _): arrayItems.append(items)
            case .nothing: break
            }
        }
        var merged: [SimplifiedSchema] = literals.map { .literal(SingerFieldType($0, nullable: anyNullable)) }
        if objectSeen {
            let properties = objectProperties.map { name, schemas in
                SimplifiedProperty(name: name, schema: schemas.count == 1 ? schemas[0] : merge(schemas))
            }
            merged.append(.object(properties, nullable: anyNullable))
        }
        if !arrayItems.isEmpty {
            merged.append(
                .array(items: arrayItems.count == 1 ? arrayItems[0] : merge(arrayItems), nullable: anyNullable))
        }
        merged.sort { $0.rank < $1.rank }
        switch merged.count {
        case 0: return .nothing(nullable: anyNullable)
        case 1: return merged[0]
        default: return .anyOf(merged)
        }
    }

    /// A property's path in the schema as a dotted name (the `properties` steps left out).
    static func describe(_ path: [String]) -> String {
        var names: [String] = []
        var index = 0
        while index < path.count {
            if path[index] == "properties", index + 1 < path.count {
                names.append(path[index + 1])
                index += 2
            } else {
                if path[index] == "items" { names.append("[]") }
                index += 1
            }
        }
        return names.isEmpty ? "(schema)" : names.joined(separator: ".")
    }
}
