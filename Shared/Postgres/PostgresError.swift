/// Everything that can go wrong talking to Postgres, with the server's words.
public enum PostgresError: Error, CustomStringConvertible, Sendable {
    /// The connection could not be opened or was lost.
    case connection(String)
    /// The server rejected a statement; `sqlState` is the five-character code.
    case server(sqlState: String, message: String, detail: String?)
    /// A column was missing, NULL where a value was required, or did not parse.
    case decoding(column: String, problem: String)
    /// The client was shut down.
    case shutdown

    public var description: String {
        switch self {
        case .connection(let message): "postgres connection: \(message)"
        case .server(let state, let message, let detail):
            "postgres \(state): \(message)" + (detail.map { " (\($0))" } ?? "")
        case .decoding(let column, let problem): "column \"\(column)\": \(problem)"
        case .shutdown: "postgres client is shut down"
        }
    }

    /// The SQLSTATE for server errors, `nil` otherwise.
    public var sqlState: String? {
        if case .server(let state, _, _) = self { return state }
        return nil
    }
}
