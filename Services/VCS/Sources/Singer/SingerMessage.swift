import Foundation
import JSON

/// One line of a Singer stream (https://hub.meltano.com/singer/spec):
/// SCHEMA, RECORD, STATE, or ACTIVATE_VERSION.
public enum SingerMessage: Sendable, Equatable {
    /// `keyOrder` keeps the order the schema lists properties in (datamill creates columns in that order).
    case schema(
        stream: String, schema: JSONValue, keyProperties: [String], bookmarkProperties: [String],
        keyOrder: JSONKeyOrder = .sorted)
    case record(stream: String, record: JSONValue, timeExtracted: String?, version: Int64?)
    case state(JSONValue)
    case activateVersion(stream: String, version: Int64)

    /// A line that is not a Singer message, or a message the target refuses, with the reason.
    public struct ParseError: Error, CustomStringConvertible {
        /// The line of the stream (nil for messages that did not come from one, as in `vcs`'s own sync).
        public let line: Int?
        public let problem: String
        public var description: String { line.map { "line \($0): \(problem)" } ?? problem }
    }

    /// Parses one line of the stream (`line` numbers the error). Text that
    /// could only be stored altered (not UTF-8, a lone surrogate) is refused,
    /// naming the field, as datamill's loader fails on it.
    public static func parse(_ bytes: some Sequence<UInt8>, line: Int) throws -> SingerMessage {
        let bytes = Array(bytes)
        let json: JSONValue
        do {
            json = try JSONValue.parse(bytes)
        } catch {
            throw ParseError(line: line, problem: "is not valid JSON: \(error)")
        }
        guard case .object(let object) = json else {
            throw ParseError(line: line, problem: "is \(json.kindName), not a JSON object")
        }
        if let invalid = SingerInvalidText.first(in: bytes) {
            throw ParseError(line: line, problem: refusal(invalid, in: bytes, object: object))
        }
        func string(_ key: String) throws -> String {
            guard let value = object[key]?.stringValue else {
                throw ParseError(line: line, problem: "\(key) must be a string")
            }
            return value
        }
        switch object["type"]?.stringValue {
        case "SCHEMA":
            guard let schema = object["schema"], schema.objectValue != nil else {
                throw ParseError(line: line, problem: "schema must be an object")
            }
            let keyOrder = try? JSONValue.parseKeepingKeyOrder(bytes).1.relative(to: ["schema"])
            return .schema(
                stream: try string("stream"), schema: schema,
                keyProperties: object["key_properties"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                bookmarkProperties: object["bookmark_properties"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                keyOrder: keyOrder ?? .sorted)
        case "RECORD":
            guard let record = object["record"] else { throw ParseError(line: line, problem: "record is missing") }
            return .record(
                stream: try string("stream"), record: record, timeExtracted: object["time_extracted"]?.stringValue,
                version: object["version"]?.integerValue)
        case "STATE":
            guard let value = object["value"] else { throw ParseError(line: line, problem: "value is missing") }
            return .state(value)
        case "ACTIVATE_VERSION":
            guard let version = object["version"]?.integerValue else {
                throw ParseError(line: line, problem: "version must be an integer")
            }
            return .activateVersion(stream: try string("stream"), version: version)
        case let other:
            throw ParseError(line: line, problem: "unknown message type \(other.map { "\"\($0)\"" } ?? "(none)")")
        }
    }

    /// Why a line with invalid text is refused: the RECORD's stream and field, or the path in the message.
    private static func refusal(_ invalid: SingerInvalidText, in bytes: [UInt8], object: [String: JSONValue])
        -> String
    {
        let what = "\(invalid.problem) (\(invalid.found) at byte \(invalid.offset)); refused, not stored altered"
        guard let path = invalid.path(in: bytes) else { return what }
        if object["type"]?.stringValue == "RECORD", path.first == "record", path.count > 1 {
            let stream = object["stream"]?.stringValue ?? "?"
            return "RECORD of stream \"\(stream)\": field \(path.dropFirst().joined(separator: ".")) \(what)"
        }
        return "\(path.joined(separator: ".")) \(what)"
    }

    /// The message as one JSON line (without the newline), keys sorted.
    public func line() throws -> Data {
        var object: [String: JSONValue]
        switch self {
        case .schema(let stream, let schema, let keys, let bookmarks, _):
            object = [
                "type": "SCHEMA", "stream": .string(stream), "schema": schema,
                "key_properties": .array(keys.map { .string($0) }),
                "bookmark_properties": .array(bookmarks.map { .string($0) }),
            ]
        case .record(let stream, let record, let timeExtracted, let version):
            object = ["type": "RECORD", "stream": .string(stream), "record": record]
            if let timeExtracted { object["time_extracted"] = .string(timeExtracted) }
            if let version { object["version"] = .number(Double(version)) }
        case .state(let value):
            object = ["type": "STATE", "value": value]
        case .activateVersion(let stream, let version):
            object = ["type": "ACTIVATE_VERSION", "stream": .string(stream), "version": .number(Double(version))]
        }
        return try Self.encoder.encode(JSONValue.object(object))
    }

    /// A JSON value as one line, keys sorted (what a Singer target writes for a STATE's value).
    public static func line(_ value: JSONValue) throws -> Data {
        try encoder.encode(value)
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
}
