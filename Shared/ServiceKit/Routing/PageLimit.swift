import Hummingbird
import JSON

/// The `?limit=N` of list routes: how many rows to return, clamped to 1…500.
public enum PageLimit {
    /// The query parameter's schema, for `APIRoute.query`.
    public static let query: [String: JSONValue] = [
        "limit": .object(["type": .string("integer"), "minimum": .number(1), "maximum": .number(500)])
    ]

    /// The request's limit, `defaultValue` when absent; 422 naming `limit`
    /// when it is given but is not one whole number from 1 to 500.
    public static func of(_ request: Request, default defaultValue: Int = 50) throws -> Int {
        let values = request.uri.queryParameters.getAll("limit")
        guard !values.isEmpty else { return defaultValue }
        guard values.count == 1, let limit = Int(values[0]), (1...500).contains(limit) else {
            throw APIError.validation([FieldProblem(field: "limit", problem: "must be one whole number from 1 to 500")])
        }
        return limit
    }
}
