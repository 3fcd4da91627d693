import HTTPTypes
import JSON

/// What `/openapi.json` says about one route: method, path, summary, request
/// body schemas, success status, path parameters and whether it needs the
/// admin token. Registered with the route itself (`DocumentedRoutes.on`).
public struct APIRoute: Sendable {
    /// The error body shape a route uses.
    public enum ErrorShape: Sendable {
        /// `{"error": {"status", "message", "problems"}}` (every Conveyor route).
        case conveyor
        /// `{"error": "message", "problems": [...]}` (the Open Inference Protocol's shape).
        case inferenceProtocol
    }

    public let method: HTTPRequest.Method
    /// Hummingbird's path syntax: `:name` marks a path parameter.
    public let path: String
    public let summary: String
    /// Media type → JSON Schema of the request body; asked each time the
    /// document is built (serving's follow the deployed model). Nil: no body.
    public let requestBody: (@Sendable () -> [String: JSONValue])?
    /// The status a success answers with.
    public let success: HTTPResponse.Status
    /// Other success statuses it may answer with (a request that changed nothing, say).
    public let otherSuccesses: [HTTPResponse.Status]
    /// Schemas of path parameters by name (a string when not given).
    public let parameters: [String: JSONValue]
    /// Query parameters by name, with their schemas.
    public let query: [String: JSONValue]
    /// Whether it needs `Authorization: Bearer $ADMIN_TOKEN`.
    public let admin: Bool
    public let errors: ErrorShape
    /// Query parameters the route cannot do without.
    public let requiredQuery: Set<String>
    /// The largest body the route accepts, when it takes more than the service's default
    /// (a larger `Content-Length` is a 413 before the body is read).
    public let maxBodyBytes: Int?

    public init(
        _ method: HTTPRequest.Method, _ path: String, _ summary: String,
        requestBody: (@Sendable () -> [String: JSONValue])? = nil, success: HTTPResponse.Status = .ok,
        otherSuccesses: [HTTPResponse.Status] = [], parameters: [String: JSONValue] = [:],
        query: [String: JSONValue] = [:], requiredQuery: Set<String> = [],
        admin: Bool = false, errors: ErrorShape = .conveyor, maxBodyBytes: Int? = nil
    ) {
        self.maxBodyBytes = maxBodyBytes
        self.requiredQuery = requiredQuery
        self.method = method
        self.path = path
        self.summary = summary
        self.requestBody = requestBody
        self.success = success
        self.otherSuccesses = otherSuccesses
        self.parameters = parameters
        self.query = query
        self.admin = admin
        self.errors = errors
    }

    /// The schema of an id in a path or query: a positive integer, bounded at
    /// 2^53 - 1 (exact in a JSON number, and within Int64).
    public static let positiveID = JSONValue.object([
        "type": .string("integer"), "format": .string("int64"), "minimum": .number(1),
        "maximum": .number(9_007_199_254_740_991),
    ])

    /// A JSON request body with `schema`.
    public static func json(_ schema: JSONValue) -> @Sendable () -> [String: JSONValue] {
        { ["application/json": schema] }
    }

    /// The path's parameter names, in order.
    public var parameterNames: [String] {
        path.split(separator: "/").filter { $0.hasPrefix(":") }.map { String($0.dropFirst()) }
    }

    /// The path in OpenAPI's syntax (`{name}`).
    public var openAPIPath: String {
        "/"
            + path.split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }
            .joined(separator: "/")
    }
}
