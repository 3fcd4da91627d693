import Hummingbird
import JSON

/// The `?limit=N` of list routes: how many rows to return, clamped to 1…500.
public enum PageLimit {
    /// The query parameter's schema, for `APIRoute.query`.
    public static let query: [String: JSONValue] = [
        "limit": .object(["type": .string("integer"), "minimum": .number(1), "maximum": .number(500)])
    ]

    /// The request's limit, `defaultValue` when absent or not a number.
    public static func of(_ request: Request, default defaultValue: Int = 50) -> Int {
        min(500, max(1, Int(request.uri.queryParameters["limit"].map(String.init) ?? "") ?? defaultValue))
    }
}
