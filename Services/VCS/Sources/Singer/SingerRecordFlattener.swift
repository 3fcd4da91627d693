import Foundation
import JSON

/// A record checked against its stream's schema and flattened into the text
/// values of its table row and child-table rows (COPY-ready).
public struct FlatRecord: Sendable {
    /// Key property values, in `keyProperties` order.
    public let key: [String]
    /// One value per layout column (nil is NULL).
    public let values: [String?]
    /// Child rows by table: source keys, `_sdc_sequence`, level ids, then element columns.
    public let children: [String: [[String?]]]
}

/// A record that does not fit its schema: named by stream, key and field.
public struct RecordRejection: Error, CustomStringConvertible, Equatable {
    public let stream: String
    public let key: String
    public let field: String
    public let problem: String
    public var description: String { "stream \(stream), record \(key): \(field) \(problem)" }
}

extension SingerTableLayout {
    /// Validates `record` and flattens it; `sequence` goes into child rows.
    public func flatten(_ record: JSONValue, sequence: Int64) throws -> FlatRecord {
        guard case .object = record else {
            throw RecordRejection(
                stream: stream, key: "(unknown)", field: "(record)", problem: "is \(record.kindName), not an object")
        }
        var key: [String] = []
        for property in keyProperties {
            guard let value = record[property], value != .null, let text = Self.keyText(value) else {
                throw RecordRejection(
                    stream: stream, key: "(unknown)", field: property,
                    problem: "is a key property but missing or not a scalar")
            }
            key.append(text)
        }
        let keyDescription = zip(keyProperties, key).map { "\($0)=\($1)" }.joined(separator: ",")
        let values = try Self.values(of: record, columns: columns, stream: stream, key: keyDescription, base: [])
        var children: [String: [[String?]]] = [:]
        let prefix: [String?] = key.map { Optional($0) } + [String(sequence)]
        for child in self.children {
            try Self.childRows(
                child, in: record, prefix: prefix, stream: stream, key: keyDescription, base: [], into: &children)
        }
        return FlatRecord(key: key, values: values, children: children)
    }

    private static func keyText(_ value: JSONValue) -> String? {
        switch value {
        case .string(let text): text
        case .number: value.integerValue.map { String($0) } ?? value.doubleValue.map { "\($0)" }
        case .bool(let flag): String(flag)
        default: nil
        }
    }

    private static func values(
        of object: JSONValue, columns: [Column], stream: String, key: String, base: [String]
    ) throws -> [String?] {
        var values: [String?] = []
        values.reserveCapacity(columns.count)
        for column in columns {
            let field = (base + column.path).joined(separator: ".")
            let value = try lookup(object, column.path, stream: stream, key: key, base: base)
            guard let value, value != .null else {
                if value == .null, !column.nullable {
                    throw RecordRejection(
                        stream: stream, key: key, field: field, problem: "is null but the schema does not allow null")
                }
                values.append(nil)
                continue
            }
            values.append(try text(value, type: column.type, stream: stream, key: key, field: field))
        }
        return values
    }

    /// The value at `path`; nil when it or an enclosing object is absent or null (a deleted user).
    private static func lookup(_ object: JSONValue, _ path: [String], stream: String, key: String, base: [String])
        throws
        -> JSONValue?
    {
        var current = object
        for (depth, name) in path.enumerated() {
            guard case .object(let fields) = current else {
                if current == .null { return nil }
                throw RecordRejection(
                    stream: stream, key: key, field: (base + path.prefix(depth)).joined(separator: "."),
                    problem: "must be an object, got \(current.kindName)")
            }
            guard let next = fields[name] else { return nil }
            current = next
        }
        return current
    }

    static func text(_ value: JSONValue, type: ColumnType, stream: String, key: String, field: String) throws -> String
    {
        func reject(_ expected: String) -> RecordRejection {
            RecordRejection(
                stream: stream, key: key, field: field, problem: "must be \(expected), got \(value.kindName)")
        }
        switch type {
        case .bigint:
            guard let integer = value.integerValue else { throw reject("an integer") }
            return String(integer)
        case .double:
            guard let number = value.doubleValue else { throw reject("a number") }
            return "\(number)"
        case .boolean:
            guard let flag = value.boolValue else { throw reject("a boolean") }
            return flag ? "true" : "false"
        case .timestamptz:
            guard let text = value.stringValue, DateTimeText.isValid(text) else {
                throw reject("an RFC 3339 date-time")
            }
            return text
        case .text:
            guard let text = value.stringValue else { throw reject("a string") }
            return text.contains("\u{0}") ? text.replacingOccurrences(of: "\u{0}", with: "") : text
        case .jsonb:
            let data = try JSONEncoder().encode(value)
            let json = String(decoding: data, as: UTF8.self)
            return json.contains("\\u0000") ? json.replacingOccurrences(of: "\\u0000", with: "") : json
        }
    }

    private static func childRows(
        _ child: Child, in object: JSONValue, prefix: [String?], stream: String, key: String, base: [String],
        into rows: inout [String: [[String?]]]
    ) throws {
        let field = (base + child.path).joined(separator: ".")
        guard let value = try lookup(object, child.path, stream: stream, key: key, base: base), value != .null else {
            return
        }
        guard case .array(let elements) = value else {
            throw RecordRejection(
                stream: stream, key: key, field: field, problem: "must be an array, got \(value.kindName)")
        }
        for (index, element) in elements.enumerated() {
            let elementBase = base + child.path + ["\(index)"]
            let levelPrefix = prefix + [String(index)]
            let values: [String?]
            if child.columns.count == 1, child.columns[0].name == "_sdc_value" {
                let column = child.columns[0]
                if element == .null {
                    guard column.nullable else {
                        throw RecordRejection(
                            stream: stream, key: key, field: elementBase.joined(separator: "."),
                            problem: "is null but the schema does not allow null")
                    }
                    values = [nil]
                } else {
                    values = [
                        try text(
                            element, type: column.type, stream: stream, key: key,
                            field: elementBase.joined(separator: "."))
                    ]
                }
            } else {
                guard case .object = element else {
                    throw RecordRejection(
                        stream: stream, key: key, field: elementBase.joined(separator: "."),
                        problem: "must be an object, got \(element.kindName)")
                }
                values = try Self.values(
                    of: element, columns: child.columns, stream: stream, key: key, base: elementBase)
            }
            rows[child.table, default: []].append(levelPrefix + values)
            for grandchild in child.children {
                try childRows(
                    grandchild, in: element, prefix: levelPrefix, stream: stream, key: key, base: elementBase,
                    into: &rows)
            }
        }
    }
}
