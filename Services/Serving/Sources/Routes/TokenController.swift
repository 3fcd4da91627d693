import Crypto
import Foundation
import Hummingbird
import JSON
import ServiceKit

/// Prediction tokens, for an admin (`ADMIN_TOKEN`): `POST /tokens` makes one and shows its
/// secret once (only its SHA-256 is stored), `GET /tokens` lists them without secrets, and
/// `DELETE /tokens/{name}` revokes one on every replica within a second (NOTIFY).
struct TokenController: APIController {
    let store: TokenStore
    let admin: AdminToken

    /// The body of `POST /tokens`.
    static let createSchema = JSONValue.object([
        "type": .string("object"), "required": .array([.string("name"), .string("models")]),
        "additionalProperties": .bool(false),
        "properties": .object([
            "name": .object([
                "type": .string("string"), "pattern": .string("^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"),
            ]),
            "models": .object([
                "type": .string("array"), "minItems": .number(1), "maxItems": .number(1000),
                "items": .object([
                    "type": .string("string"), "pattern": .string(Self.modelPattern),
                ]),
                "description": .string("Model names (conveyor.yaml's name), or \"*\" for every model."),
            ]),
            "scopes": .object([
                "type": .string("array"), "minItems": .number(1),
                "items": .object([
                    "type": .string("string"), "enum": .array([.string("predict"), .string("feedback")]),
                ]),
                "description": .string("Default [\"predict\"]."),
            ]),
            "expires_at": .object(["type": .string("string"), "format": .string("date-time")]),
            "rate_limit_per_second": .object([
                "type": .string("number"), "minimum": .number(0.001), "maximum": .number(1_000_000),
            ]),
        ]),
    ])

    /// A model name as conveyor.yaml allows it (no `/`, no leading `.`, no NUL), or `*`; at most 200 characters.
    static let modelPattern = "^[^/\\u0000.][^/\\u0000]{0,199}$"

    /// What `POST /tokens` answers: the secret, this once.
    struct Created: Encodable {
        let name: String
        let token: String
        let models: [String]
        let scopes: [String]
        let expiresAt: String?
        let rateLimitPerSecond: Double?

        enum CodingKeys: String, CodingKey {
            case name, token, models, scopes
            case expiresAt = "expires_at"
            case rateLimitPerSecond = "rate_limit_per_second"
        }
    }

    var endpoints: DocumentedRoutes {
        let routes = DocumentedRoutes()
        let (store, admin) = (store, admin)
        routes.on(
            APIRoute(
                .post, "/tokens",
                "Create a prediction token for some models and scopes; its secret is in this answer only.",
                requestBody: APIRoute.json(Self.createSchema), success: .created, admin: true)
        ) { request, _ in
            try admin.authorize(request)
            let body = try await request.collectBody(upTo: 64 << 10)
            guard case .object(let object) = (try? JSONValue.parse(body.readableBytesView)) ?? .null else {
                throw APIError(.badRequest, "the body must be a JSON object like {\"name\": …, \"models\": [...]}")
            }
            let request = try Self.parse(object)
            let secret = Self.newSecret()
            let created = try await store.create(
                name: request.name, hash: Array(SHA256.hash(data: Array(secret.utf8))), models: request.models,
                scopes: request.scopes, expiresAt: request.expiresAt, ratePerSecond: request.rate)
            guard created else {
                throw APIError(
                    .conflict, "a token named \"\(request.name)\" exists (names are never reused, revoked ones too)",
                    problems: [FieldProblem(field: "name", problem: "is taken")])
            }
            return try JSONResponse.make(
                Created(
                    name: request.name, token: secret, models: request.models, scopes: request.scopes.map(\.rawValue),
                    expiresAt: request.expiresAt.map { ISO8601DateFormatter().string(from: $0) },
                    rateLimitPerSecond: request.rate), status: .created)
        }
        routes.on(
            APIRoute(
                .get, "/tokens",
                "Every prediction token without its secret: models, scopes, state, created, expires, revoked, last used.",
                admin: true)
        ) { request, _ in
            try admin.authorize(request)
            return JSONResponse.raw(Data(try await store.listJSON().utf8))
        }
        routes.on(
            APIRoute(
                .delete, "/tokens/:name", "Revoke a prediction token on every replica (within a second).",
                parameters: ["name": .object(["type": .string("string"), "minLength": .number(1)])], admin: true)
        ) { request, context in
            try admin.authorize(request)
            let name = context.parameters.get("name") ?? ""
            guard try await store.revoke(name: name) else {
                let exists = try await store.exists(name: name)
                throw APIError(
                    exists ? .conflict : .notFound,
                    exists ? "the token \"\(name)\" is already revoked" : "no token named \"\(name)\"",
                    problems: [FieldProblem(field: "name", problem: exists ? "already revoked" : "unknown")])
            }
            return try JSONResponse.make(["revoked": name])
        }
        return routes
    }

    /// A `POST /tokens` body, checked field by field.
    struct Request {
        let name: String
        let models: [String]
        let scopes: [TokenScope]
        let expiresAt: Date?
        let rate: Double?
    }

    static func parse(_ object: [String: JSONValue]) throws -> Request {
        var problems: [FieldProblem] = []
        for key in object.keys.sorted()
        where !["name", "models", "scopes", "expires_at", "rate_limit_per_second"].contains(key) {
            problems.append(FieldProblem(field: key, problem: "is not a token field"))
        }
        let name = object["name"]?.stringValue ?? ""
        let nameCharacters = name.unicodeScalars.allSatisfy {
            $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0))
        }
        if name.isEmpty || name.unicodeScalars.count > 100 || !nameCharacters
            || !(name.unicodeScalars.first.map { $0.isASCII && CharacterSet.alphanumerics.contains($0) } ?? false)
        {
            problems.append(
                FieldProblem(field: "name", problem: "must be 1 to 100 letters, digits, '.', '_' or '-' (not first)"))
        }
        var models: [String] = []
        if case .array(let values) = object["models"] ?? .null, !values.isEmpty, values.count <= 1000 {
            // As modelPattern says (checked by hand: ICU's `$` would also match before a final newline).
            models = values.compactMap(\.stringValue).filter {
                !$0.isEmpty && $0.unicodeScalars.count <= 200 && !$0.hasPrefix(".") && !$0.contains("/")
                    && !$0.unicodeScalars.contains("\u{0}")
            }
            if models.count != values.count { models = [] }
        }
        if models.isEmpty {
            problems.append(FieldProblem(field: "models", problem: "must list model names (or \"*\"), at least one"))
        }
        var scopes: [TokenScope] = [.predict]
        if let value = object["scopes"] {
            let names = value.arrayValue?.compactMap(\.stringValue) ?? []
            let parsed = names.compactMap(TokenScope.init(rawValue:))
            if parsed.isEmpty || parsed.count != (value.arrayValue?.count ?? -1) {
                problems.append(FieldProblem(field: "scopes", problem: "must list predict and/or feedback"))
            } else {
                scopes = Array(Set(parsed)).sorted { $0.rawValue > $1.rawValue }
            }
        }
        var expiresAt: Date?
        if let value = object["expires_at"] {
            expiresAt = value.stringValue.flatMap(Self.date)
            if expiresAt == nil {
                problems.append(
                    FieldProblem(field: "expires_at", problem: "must be an RFC 3339 time like 2027-01-31T00:00:00Z"))
            }
        }
        var rate: Double?
        if let value = object["rate_limit_per_second"] {
            rate = value.doubleValue
            if !(rate.map { $0 >= 0.001 && $0 <= 1_000_000 } ?? false) {
                problems.append(
                    FieldProblem(field: "rate_limit_per_second", problem: "must be a number from 0.001 to 1000000"))
            }
        }
        guard problems.isEmpty else { throw APIError.validation(problems) }
        return Request(name: name, models: models, scopes: scopes, expiresAt: expiresAt, rate: rate)
    }

    /// An RFC 3339 time, with or without fractional seconds.
    static func date(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions.insert(.withFractionalSeconds)
        return formatter.date(from: text)
    }

    /// `cvt_` and 256 random bits, base64url: what a client sends as `Authorization: Bearer …`.
    static func newSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return "cvt_"
            + Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}
