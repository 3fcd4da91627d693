import Foundation
import JSON

/// A record checked against its stream's schema and split into the text
/// values (COPY-ready) of its rows: one root row, and child rows per array element.
public struct FlatRecord: Sendable {
    /// Key property values, in `keyProperties` order (for messages).
    public let key: [String]
    /// Rows by table (as `SingerTableLayout.tables`): one value per slot, nil for NULL.
    public let rows: [[[String?]]]
}

/// A record that does not fit its schema: named by stream, key and field.
public struct RecordRejection: Error, CustomStringConvertible, Equatable {
    public let stream: String
    public let key: String
    public let field: String
    public let problem: String
    /// Whether the record stops the load (its batch and bookmark are not committed) rather than
    /// being skipped: a value Postgres could only store altered, which datamill's loader fails on.
    public var stopsTheLoad = false
    public var description: String { "stream \(stream), record \(key): \(field) \(problem)" }
}

extension SingerTableLayout {
    /// Validates `record` and denests it as datamill's `denest.py` does: object
    /// values into the columns of their table, array elements into child rows
    /// carrying the record's keys, `_sdc_sequence` and their level indices.
    /// Properties named `_sdc_*` are stored like any other (tap-github sends
    /// `_sdc_repository`), except what the loader stamps, as datamill's
    /// `get_batch` does: `_sdc_sequence` and `_sdc_batched_at` always, the
    /// message's version as `_sdc_table_version` when it has one, and
    /// `receivedAt` as `_sdc_received_at` when the record has none.
    public func flatten(_ record: JSONValue, sequence: Int64, receivedAt: String?, tableVersion: Int64?) throws
        -> FlatRecord
    {
        guard case .object(let fields) = record else {
            throw RecordRejection(
                stream: stream, key: "(unknown)", field: "(record)", problem: "is \(record.kindName), not an object")
        }
        var keyValues: [(String, JSONValue)] = []
        var keyTexts: [String] = []
        for property in keyProperties {
            let value: JSONValue
            if generatedKey {
                value =
                    fields[Self.primaryKey]?.stringValue.map { .string($0) } ?? .string(UUID().uuidString.lowercased())
            } else {
                guard let given = fields[property], let text = Self.keyText(given) else {
                    throw RecordRejection(
                        stream: stream, key: "(unknown)", field: property,
                        problem: "is a key property but missing or not a scalar")
                }
                value = given
                keyTexts.append(text)
            }
            keyValues.append((Self.sourceKeyPrefix + property, value))
        }
        var walker = RecordWalker(
            layout: self,
            key: zip(keyProperties, keyTexts).map { property, text in
                "\(property)=\(text.utf8.contains(0) ? text.replacingOccurrences(of: "\u{0}", with: "\\u0000") : text)"
            }.joined(separator: ","))
        var row = [String?](repeating: nil, count: root.slots.count)
        for (name, value) in fields where name != Self.sequence && name != Self.batchedAt {
            try walker.visit(
                value, path: [name], table: 0, row: &row, field: [name],
                parentKeys: keyValues + [(Self.sequence, .number(Double(sequence)))])
        }
        func set(_ name: String, _ text: String?, unlessGiven: Bool = false) {
            guard let text, let slot = root.slotIndex[[name]]?.values.first else { return }
            if !unlessGiven || row[slot] == nil { row[slot] = text }
        }
        set(Self.receivedAt, receivedAt, unlessGiven: true)
        set(Self.sequence, String(sequence))
        set(Self.tableVersion, tableVersion.map { String($0) })
        if generatedKey, case .string(let uuid) = keyValues[0].1 { set(Self.primaryKey, uuid) }
        walker.rows[0].append(row)
        return FlatRecord(key: generatedKey ? keyValues.compactMap(\.1.stringValue) : keyTexts, rows: walker.rows)
    }

    private static func keyText(_ value: JSONValue) -> String? {
        switch value {
        case .string(let text): text
        case .number: value.integerValue.map { String($0) } ?? value.doubleValue.map { "\($0)" }
        case .bool(let flag): String(flag)
        default: nil
        }
    }
}

/// Walks one record, filling the rows of each table.
private struct RecordWalker {
    let layout: SingerTableLayout
    let key: String
    var rows: [[[String?]]]

    init(layout: SingerTableLayout, key: String) {
        self.layout = layout
        self.key = key
        self.rows = Array(repeating: [], count: layout.tables.count)
    }

    private func reject(_ field: [String], _ problem: String) -> RecordRejection {
        RecordRejection(stream: layout.stream, key: key, field: field.joined(separator: "."), problem: problem)
    }

    /// Places `value`, found at `path` in a row of `table` (and at `field` in the record).
    mutating func visit(
        _ value: JSONValue, path: [String], table: Int, row: inout [String?], field: [String],
        parentKeys: [(String, JSONValue)]
    ) throws {
        let schema = layout.tables[table]
        let kinds = schema.slotIndex[path]
        let objectNullable = schema.objects[path]
        let arrayNullable = schema.arrays[path]
        let declared = kinds != nil || objectNullable != nil || arrayNullable != nil
        switch value {
        case .null:
            let literalNullable = kinds.map { kinds in
                kinds.keys.contains { kind in schema.slots[kinds[kind]!].type.nullable }
            }
            if declared, literalNullable != true, objectNullable != true, arrayNullable != true {
                throw reject(field, "is null but the schema does not allow null")
            }
        case .object(let fields):
            guard objectNullable != nil else {
                if declared { throw reject(field, "must be \(expected(path, in: schema)), got object") }
                return  // not in the schema: datamill keeps no column for it
            }
            for (name, nested) in fields {
                try visit(
                    nested, path: path + [name], table: table, row: &row, field: field + [name],
                    parentKeys: parentKeys)
            }
        case .array(let elements):
            guard arrayNullable != nil, let child = layout.tableIndex[schema.path + path] else {
                if declared { throw reject(field, "must be \(expected(path, in: schema)), got array") }
                return
            }
            try addElements(elements, table: child, field: field, parentKeys: parentKeys)
        case .bool(let flag):
            guard let slot = kinds?[.boolean] else { return try undeclared(value, path, schema, field, declared) }
            row[slot] = flag ? "true" : "false"
        case .number(let number):
            if let integer = value.integerValue, let slot = kinds?[.integer] ?? kinds?[.number] {
                row[slot] = schema.slots[slot].type.kind == .integer ? String(integer) : "\(number)"
            } else if let slot = kinds?[.number] {
                row[slot] = "\(number)"
            } else if kinds?[.integer] != nil {
                let problem =
                    number.rounded() == number
                    ? "is outside the 64-bit integer range" : "must be an integer, got number"
                throw reject(field, problem)
            } else {
                return try undeclared(value, path, schema, field, declared)
            }
        case .string(let text):
            if let slot = kinds?[.dateTime], DateTimeText.isValid(text) {
                row[slot] = text
            } else if let slot = kinds?[.string] {
                if text.utf8.contains(0) {
                    var refusal = reject(field, "holds a NUL character (\\u0000), which Postgres cannot store")
                    refusal.stopsTheLoad = true
                    throw refusal
                }
                row[slot] = text
            } else if kinds?[.dateTime] != nil {
                throw reject(field, "must be an RFC 3339 date-time, got \"\(text.prefix(40))\"")
            } else {
                return try undeclared(value, path, schema, field, declared)
            }
        }
    }

    /// A value of a type the schema does not allow at `path` (or a property it does not declare, which is skipped).
    private func undeclared(
        _ value: JSONValue, _ path: [String], _ schema: SingerStreamTable, _ field: [String], _ declared: Bool
    ) throws {
        if declared { throw reject(field, "must be \(expected(path, in: schema)), got \(value.kindName)") }
    }

    /// The rows of an array's elements in `table`, each with its parent's keys and its own index.
    private mutating func addElements(
        _ elements: [JSONValue], table: Int, field: [String], parentKeys: [(String, JSONValue)]
    ) throws {
        let schema = layout.tables[table]
        let level = schema.level ?? 0
        for (index, element) in elements.enumerated() {
            let keys = parentKeys + [(SingerTableLayout.levelColumn(level), .number(Double(index)))]
            var fields: [String: JSONValue]
            if case .object(let elementFields) = element, schema.elementsAreObjects {
                fields = elementFields
            } else if schema.elementsAreObjects {
                throw reject(field + [String(index)], "must be object, got \(element.kindName)")
            } else {
                fields = [SingerTableLayout.value: element]
            }
            for (name, value) in keys { fields[name] = value }
            var row = [String?](repeating: nil, count: schema.slots.count)
            for (name, value) in fields {
                let elementField =
                    name == SingerTableLayout.value ? field + [String(index)] : field + [String(index), name]
                try visit(value, path: [name], table: table, row: &row, field: elementField, parentKeys: keys)
            }
            rows[table].append(row)
        }
    }

    /// What the schema allows at `path`, for messages ("integer or string").
    private func expected(_ path: [String], in schema: SingerStreamTable) -> String {
        var names: [String] = []
        if let kinds = schema.slotIndex[path] {
            for slot in kinds.values.sorted() {
                let type = schema.slots[slot].type
                names.append(type.kind == .dateTime ? "date-time string" : type.jsonType)
            }
        }
        if schema.objects[path] != nil { names.append("object") }
        if schema.arrays[path] != nil { names.append("array") }
        return names.joined(separator: " or ")
    }
}
