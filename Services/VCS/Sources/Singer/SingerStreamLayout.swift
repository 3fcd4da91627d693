import JSON

/// A stream's JSON Schema that cannot be loaded, with the property at fault.
public struct SingerTableLayoutError: Error, CustomStringConvertible {
    public let stream: String
    public let property: String
    public let problem: String
    public var description: String { "stream \(stream): schema of \(property): \(problem)" }
}

/// One table of a stream as datamill's `denest.py` lays it out: the root
/// table, or the table of an array (at any depth), with its properties in
/// the order datamill creates their columns.
public struct SingerStreamTable: Sendable, Equatable {
    /// A property path of the table's rows and the types its columns hold.
    public struct Property: Sendable, Equatable {
        public let path: [String]
        public internal(set) var types: [SingerFieldType]
    }

    /// A column to fill: a property path and one of its types.
    public struct Slot: Sendable, Equatable, Hashable {
        public let path: [String]
        public let type: SingerFieldType
    }

    /// `[stream]` for the root, then the property names down to the array.
    public let path: [String]
    /// nil for the root table, else the depth of nesting (0 for an array in the record).
    public let level: Int?
    /// The stream's key properties (root), or their `_sdc_source_key_<key>` columns (child tables).
    public let keyProperties: [String]
    public let properties: [Property]
    /// Every (path, type) pair, in column order; a row has one value per slot.
    public let slots: [Slot]
    /// Objects flattened into this table, by property path, and whether they may be null.
    let objects: [[String]: Bool]
    /// Arrays (child tables) of this table's rows, by property path, and whether they may be null.
    let arrays: [[String]: Bool]
    /// Slot indices by property path and type.
    let slotIndex: [[String]: [SingerFieldType.Kind: Int]]
    /// Whether the array's elements are objects (their properties are the columns) rather than `_sdc_value`s.
    let elementsAreObjects: Bool

    init(
        path: [String], level: Int?, keyProperties: [String], properties: [Property], objects: [[String]: Bool],
        arrays: [[String]: Bool], elementsAreObjects: Bool
    ) {
        self.elementsAreObjects = elementsAreObjects
        self.path = path
        self.level = level
        self.keyProperties = keyProperties
        self.properties = properties
        self.objects = objects
        self.arrays = arrays
        self.slots = properties.flatMap { property in property.types.map { Slot(path: property.path, type: $0) } }
        var index: [[String]: [SingerFieldType.Kind: Int]] = [:]
        for (offset, slot) in slots.enumerated() { index[slot.path, default: [:]][slot.type.kind] = offset }
        self.slotIndex = index
    }

    /// The index of the slot for `path` holding `kind`.
    func slot(_ path: [String], _ kind: SingerFieldType.Kind) -> Int? { slotIndex[path]?[kind] }

    public static func == (left: Self, right: Self) -> Bool {
        left.path == right.path && left.level == right.level && left.keyProperties == right.keyProperties
            && left.slots == right.slots && left.objects == right.objects && left.arrays == right.arrays
            && left.elementsAreObjects == right.elementsAreObjects
    }
}

/// How a Singer stream maps onto Postgres tables, exactly as datamill's
/// `singer-target-postgres` maps it: nested objects flattened into
/// `parent__child` columns; arrays (and arrays of arrays) into child tables
/// `<stream>__<field>` linked by `_sdc_source_key_<key>` and
/// `_sdc_level_<n>_id`; a property of several types split into one typed
/// column each; `_sdc_received_at`, `_sdc_sequence`, `_sdc_table_version`,
/// `_sdc_batched_at` on the root table; `_sdc_primary_key` (a UUID) as the
/// key of a stream without key properties.
public struct SingerTableLayout: Sendable, Equatable {
    public let stream: String
    /// The stream's key properties (`["_sdc_primary_key"]` when it declares none).
    public let keyProperties: [String]
    /// The root table first, then the child tables (inner arrays before outer ones, as datamill orders them).
    public let tables: [SingerStreamTable]
    /// Whether the key is a generated `_sdc_primary_key`.
    public let generatedKey: Bool
    let tableIndex: [[String]: Int]

    static let receivedAt = "_sdc_received_at"
    static let sequence = "_sdc_sequence"
    static let tableVersion = "_sdc_table_version"
    static let batchedAt = "_sdc_batched_at"
    static let primaryKey = "_sdc_primary_key"
    static let value = "_sdc_value"
    static let sourceKeyPrefix = "_sdc_source_key_"
    static func levelColumn(_ level: Int) -> String { "_sdc_level_\(level)_id" }

    public var root: SingerStreamTable { tables[0] }

    public init(stream: String, schema: JSONValue, keyProperties: [String], keyOrder: JSONKeyOrder = .sorted) throws {
        self.stream = stream
        let simplifier = SingerSchemaSimplifier(stream: stream, keyOrder: keyOrder)
        guard case .object(var properties, _) = try simplifier.simplify(schema, path: []) else {
            throw SingerTableLayoutError(stream: stream, property: "(schema)", problem: "must describe an object")
        }
        let metadata: [(String, SingerFieldType)] = [
            (Self.receivedAt, SingerFieldType(.dateTime, nullable: true, nullFirst: true)),
            (Self.sequence, SingerFieldType(.integer, nullable: true, nullFirst: true)),
            (Self.tableVersion, SingerFieldType(.integer, nullable: true, nullFirst: true)),
            (Self.batchedAt, SingerFieldType(.dateTime, nullable: true, nullFirst: true)),
        ]
        for (name, type) in metadata where !properties.contains(where: { $0.name == name }) {
            properties.append(SimplifiedProperty(name: name, schema: .literal(type)))
        }
        var keys = keyProperties
        generatedKey = keys.isEmpty
        if generatedKey {
            keys = [Self.primaryKey]
            properties.removeAll { $0.name == Self.primaryKey }
            properties.append(
                SimplifiedProperty(name: Self.primaryKey, schema: .literal(SingerFieldType(.string, nullable: false))))
        }
        self.keyProperties = keys
        var keySchemas: [SimplifiedProperty] = []
        for key in keys {
            guard let property = properties.first(where: { $0.name == key }),
                case .literal = property.schema
            else {
                throw SingerTableLayoutError(
                    stream: stream, property: key, problem: "is a key property but not a top-level property of one type"
                )
            }
            keySchemas.append(property)
        }
        var builder = Denester(stream: stream, keySchemas: keySchemas)
        let rootTable = try builder.table(
            path: [stream], level: nil, keys: keys, properties: properties, elementsAreObjects: false)
        tables = [rootTable] + builder.children
        var index: [[String]: Int] = [:]
        for (offset, table) in tables.enumerated() { index[table.path] = offset }
        tableIndex = index
    }

    /// The root table's slot for one of the `_sdc_*` metadata columns.
    func rootSlot(_ name: String, _ kind: SingerFieldType.Kind) -> Int? { root.slot([name], kind) }
}

/// datamill's `_denest_schema`: walks a table's properties, flattening
/// objects into it and turning arrays into child tables.
private struct Denester {
    let stream: String
    let keySchemas: [SimplifiedProperty]
    /// Child tables, each added after its own children.
    var children: [SingerStreamTable] = []

    mutating func table(
        path: [String], level: Int?, keys: [String], properties: [SimplifiedProperty], elementsAreObjects: Bool
    ) throws -> SingerStreamTable {
        var collected = Collected()
        let childLevel = (level ?? -1) + 1
        for property in properties {
            for member in property.schema.members {
                switch member {
                case .object(let nested, let nullable):
                    collected.objects[[property.name]] = nullable
                    try flatten(
                        nested, tablePath: path + [property.name], propertyPath: [property.name],
                        nullable: nullable, childLevel: childLevel, into: &collected)
                case .array(let items, let nullable):
                    collected.arrays[[property.name]] = nullable
                    try addChild(path: path + [property.name], items: items, level: childLevel)
                case .literal(let type):
                    collected.add([property.name], type)
                case .anyOf, .nothing:
                    break
                }
            }
        }
        for key in keys where collected.properties.first(where: { $0.path == [key] }) == nil {
            throw SingerTableLayoutError(stream: stream, property: key, problem: "is a key property with no column")
        }
        return SingerStreamTable(
            path: path, level: level, keyProperties: keys, properties: collected.properties,
            objects: collected.objects, arrays: collected.arrays, elementsAreObjects: elementsAreObjects)
    }

    /// `_denest_schema_helper`: an object's properties become columns of the enclosing table.
    private mutating func flatten(
        _ properties: [SimplifiedProperty], tablePath: [String], propertyPath: [String], nullable: Bool,
        childLevel: Int, into collected: inout Collected
    ) throws {
        for property in properties {
            for member in property.schema.members {
                switch member {
                case .object(let nested, let objectNullable):
                    collected.objects[propertyPath + [property.name]] = objectNullable
                    try flatten(
                        nested, tablePath: tablePath + [property.name], propertyPath: propertyPath + [property.name],
                        nullable: nullable, childLevel: childLevel, into: &collected)
                case .array(let items, let arrayNullable):
                    collected.arrays[propertyPath + [property.name]] = arrayNullable
                    try addChild(path: tablePath + [property.name], items: items, level: childLevel)
                case .literal(let type):
                    collected.add(propertyPath + [property.name], nullable ? type.madeNullable : type)
                case .anyOf, .nothing:
                    break
                }
            }
        }
    }

    /// `_create_subtable`: an array's elements (objects, or `_sdc_value`) plus source keys, sequence and levels.
    private mutating func addChild(path: [String], items: SimplifiedSchema, level: Int) throws {
        guard path.count <= 64 else {
            throw SingerTableLayoutError(
                stream: stream, property: path.dropFirst().joined(separator: "."), problem: "nests arrays too deeply")
        }
        var properties: [SimplifiedProperty]
        var elementsAreObjects = false
        if case .object(let elementProperties, _) = items {
            properties = elementProperties
            elementsAreObjects = true
        } else {
            properties = [SimplifiedProperty(name: SingerTableLayout.value, schema: items)]
        }
        var keys: [String] = []
        for key in keySchemas {
            let name = SingerTableLayout.sourceKeyPrefix + key.name
            keys.append(name)
            properties.removeAll { $0.name == name }
            properties.append(SimplifiedProperty(name: name, schema: key.schema))
        }
        properties.removeAll { $0.name == SingerTableLayout.sequence }
        properties.append(
            SimplifiedProperty(
                name: SingerTableLayout.sequence,
                schema: .literal(SingerFieldType(.integer, nullable: true, nullFirst: true))))
        for depth in 0...level {
            let name = SingerTableLayout.levelColumn(depth)
            properties.removeAll { $0.name == name }
            properties.append(
                SimplifiedProperty(name: name, schema: .literal(SingerFieldType(.integer, nullable: false))))
        }
        let child = try table(
            path: path, level: level, keys: keys, properties: properties, elementsAreObjects: elementsAreObjects)
        children.append(child)
    }

    /// Properties in the order they were first seen, each with its types.
    struct Collected {
        var properties: [SingerStreamTable.Property] = []
        var objects: [[String]: Bool] = [:]
        var arrays: [[String]: Bool] = [:]

        mutating func add(_ path: [String], _ type: SingerFieldType) {
            if let index = properties.firstIndex(where: { $0.path == path }) {
                if !properties[index].types.contains(where: { $0.kind == type.kind }) {
                    properties[index].types.append(type)
                }
            } else {
                properties.append(SingerStreamTable.Property(path: path, types: [type]))
            }
        }
    }
}
