import Foundation
import ServiceKit

/// A pull request flattened the way the Singer target-postgres loader stores
/// it: nested objects joined with `__` (`user__login`, `head__sha`, …).
public struct PullRequestRecord: Sendable, Equatable {
    /// Text values (nil for JSON null) in the order of `recordColumns`.
    public var values: [String?]
    public var id: Int64
    public var updatedAt: Date?

    /// The `pull_requests` columns the loader fills from a record.
    public static let recordColumns = [
        "id", "number", "state", "title", "body", "html_url", "user__login", "user__id",
        "created_at", "updated_at", "closed_at", "merged_at", "merge_commit_sha",
        "head__ref", "head__sha", "base__ref", "base__sha",
    ]
    static let integerColumns: Set = ["id", "number", "user__id"]
    static let dateColumns: Set = ["created_at", "updated_at", "closed_at", "merged_at"]

    /// A record that cannot be stored, named by its key and field.
    public struct Rejection: Error, CustomStringConvertible, Equatable {
        public let key: String
        public let field: String
        public let problem: String
        public var description: String { "pull_requests record \(key): field \(field) \(problem)" }
    }

    /// Flattens and type-checks one GitHub pull request object.
    public init(json: JSONValue) throws {
        guard let object = json.objectValue else {
            throw Rejection(key: "(unknown)", field: "(record)", problem: "is \(json.kindName), not an object")
        }
        let flat = Self.flatten(object)
        guard let id = flat["id"]?.integerValue else {
            throw Rejection(key: "(unknown)", field: "id", problem: "is missing or not an integer")
        }
        let key = "id=\(id)"
        var values: [String?] = []
        values.reserveCapacity(Self.recordColumns.count)
        var updatedAt: Date?
        for column in Self.recordColumns {
            guard let value = flat[column], value != .null else {
                values.append(nil)
                continue
            }
            if Self.integerColumns.contains(column) {
                guard let number = value.integerValue else {
                    throw Rejection(key: key, field: column, problem: "must be an integer, got \(value.kindName)")
                }
                values.append(String(number))
            } else if Self.dateColumns.contains(column) {
                guard let text = value.stringValue, let date = Self.parseDate(text) else {
                    throw Rejection(key: key, field: column, problem: "must be an ISO 8601 date-time")
                }
                if column == "updated_at" { updatedAt = date }
                values.append(text)
            } else {
                guard let text = value.stringValue else {
                    throw Rejection(key: key, field: column, problem: "must be a string, got \(value.kindName)")
                }
                values.append(text.replacingOccurrences(of: "\u{0}", with: ""))  // Postgres text has no NUL
            }
        }
        self.values = values
        self.id = id
        self.updatedAt = updatedAt
    }

    /// `{"a": {"b": 1}}` → `["a__b": 1]`; arrays stay whole (child tables).
    static func flatten(_ object: [String: JSONValue], prefix: String = "") -> [String: JSONValue] {
        var flat: [String: JSONValue] = [:]
        for (key, value) in object {
            let name = prefix.isEmpty ? key : "\(prefix)__\(key)"
            if case .object(let nested) = value {
                flat.merge(flatten(nested, prefix: name)) { $1 }
            } else {
                flat[name] = value
            }
        }
        return flat
    }

    static func parseDate(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }
}
