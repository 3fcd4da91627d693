import JSON

/// The `pull_requests` Singer stream: its JSON Schema (the fields Conveyor
/// keeps of GitHub's pull request object) and the transform that trims a
/// GitHub object to it, as singer-python's Transformer does.
public enum PullRequestsStream {
    public static let name = "pull_requests"
    public static let keyProperties = ["id"]
    public static let bookmarkProperties = ["updated_at"]

    private static func type(_ types: String...) -> JSONValue { .array(types.map { .string($0) }) }
    private static let nullableString: JSONValue = .object(["type": type("null", "string")])
    private static let nullableInteger: JSONValue = .object(["type": type("null", "integer")])
    private static let nullableBoolean: JSONValue = .object(["type": type("null", "boolean")])
    private static let nullableDateTime: JSONValue = .object([
        "type": type("null", "string"), "format": "date-time",
    ])
    private static func object(_ properties: [String: JSONValue], nullable: Bool = true) -> JSONValue {
        .object(["type": nullable ? type("null", "object") : type("object"), "properties": .object(properties)])
    }
    private static func array(of items: JSONValue) -> JSONValue {
        .object(["type": type("null", "array"), "items": items])
    }
    private static let user = object(["login": nullableString, "id": nullableInteger, "type": nullableString])
    /// A branch end: `repo.full_name` tells a fork's pull request (head repository ≠ base).
    private static let ref = object([
        "ref": nullableString, "sha": nullableString, "label": nullableString,
        "repo": object(["full_name": nullableString]),
    ])

    /// The stream's JSON Schema.
    public static let schema: JSONValue = object(
        [
            "id": .object(["type": type("integer")]),
            "number": nullableInteger,
            "state": nullableString,
            "title": nullableString,
            "body": nullableString,
            "html_url": nullableString,
            "draft": nullableBoolean,
            "locked": nullableBoolean,
            "author_association": nullableString,
            "user": user,
            "labels": array(
                of: object(["id": nullableInteger, "name": nullableString, "color": nullableString], nullable: false)),
            "assignees": array(of: object(["login": nullableString, "id": nullableInteger], nullable: false)),
            "requested_reviewers": array(
                of: object(["login": nullableString, "id": nullableInteger], nullable: false)),
            "created_at": nullableDateTime,
            "updated_at": nullableDateTime,
            "closed_at": nullableDateTime,
            "merged_at": nullableDateTime,
            "merge_commit_sha": nullableString,
            "head": ref,
            "base": ref,
        ], nullable: false)

    /// The stream's table layout. The schema is a constant whose layout the
    /// tests check, so failing here is a programming error.
    public static let layout = try! SingerTableLayout(stream: name, schema: schema, keyProperties: keyProperties)

    /// The SCHEMA message.
    public static var schemaMessage: SingerMessage {
        .schema(stream: name, schema: schema, keyProperties: keyProperties, bookmarkProperties: bookmarkProperties)
    }

    /// Keeps only what the schema describes (recursively); values are not
    /// checked here, the target does that and rejects what does not fit.
    public static func transform(_ value: JSONValue) -> JSONValue { trim(value, to: schema) }

    private static func trim(_ value: JSONValue, to schema: JSONValue) -> JSONValue {
        switch value {
        case .object(let fields):
            guard case .object(let properties) = schema["properties"] ?? .null else { return value }
            var kept: [String: JSONValue] = [:]
            for (name, property) in properties {
                if let field = fields[name] { kept[name] = trim(field, to: property) }
            }
            return .object(kept)
        case .array(let items):
            guard let itemSchema = schema["items"] else { return value }
            return .array(items.map { trim($0, to: itemSchema) })
        default:
            return value
        }
    }
}
