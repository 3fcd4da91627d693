/// Everything that can go wrong talking to Postgres, with the server's words.
/// Like postgres-nio's `PSQLError`, it is a struct with a `code` saying what
/// kind of failure it is, and the server's SQLSTATE when the server refused.
public struct PostgresError: Error, CustomStringConvertible, Sendable {
    /// The kind of failure.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        /// The connection could not be opened or was lost.
        public static let connection = Code("connection")
        /// The server rejected a statement (see `sqlState`).
        public static let server = Code("server")
        /// A column was missing, NULL where a value was required, or did not parse.
        public static let decoding = Code("decoding")
        /// The client was shut down.
        public static let shutdown = Code("shutdown")
        public var description: String { name }
    }

    public let code: Code
    /// The server's five-character SQLSTATE, for `.server` errors.
    public let sqlState: String?
    /// The server's or libpq's message.
    public let message: String
    /// The server's DETAIL, or for decoding errors the column.
    public let detail: String?

    /// The connection could not be opened or was lost.
    public static func connection(_ message: String) -> PostgresError {
        PostgresError(code: .connection, sqlState: nil, message: message, detail: nil)
    }

    /// The server rejected a statement.
    public static func server(sqlState: String, message: String, detail: String?) -> PostgresError {
        PostgresError(code: .server, sqlState: sqlState, message: message, detail: detail)
    }

    /// A column could not be decoded.
    public static func decoding(column: String, problem: String) -> PostgresError {
        PostgresError(code: .decoding, sqlState: nil, message: problem, detail: column)
    }

    /// The client was shut down.
    public static let shutdown = PostgresError(
        code: .shutdown, sqlState: nil, message: "postgres client is shut down", detail: nil)

    /// Whether the server refused the data itself (SQLSTATE class 22 or 23:
    /// a value out of range, a constraint violated), as opposed to an outage.
    public var isDataError: Bool {
        guard let sqlState else { return false }
        return sqlState.hasPrefix("22") || sqlState.hasPrefix("23")
    }

    public var description: String {
        switch code {
        case .connection: "postgres connection: \(message)"
        case .server: "postgres \(sqlState ?? "?"): \(message)" + (detail.map { " (\($0))" } ?? "")
        case .decoding: "column \"\(detail ?? "?")\": \(message)"
        default: message
        }
    }
}
