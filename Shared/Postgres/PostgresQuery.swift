/// A SQL statement whose interpolated values become bound `$n` parameters.
///
/// Literal text goes into the SQL; every `\(value)` is sent separately as a
/// parameter, so injection is impossible by construction:
/// ```swift
/// try await db.query("SELECT * FROM runs WHERE id = \(runID)")
/// ```
/// Identifiers that must be dynamic (table or column names) use
/// `\(identifier: name)`, which quotes them.
public struct PostgresQuery: Sendable, ExpressibleByStringInterpolation {
    /// The SQL text with `$1…$n` placeholders.
    public private(set) var sql: String
    /// The parameters in text format; `nil` is SQL NULL.
    public private(set) var parameters: [String?]

    public init(stringLiteral value: String) {
        self.sql = value
        self.parameters = []
    }

    public init(stringInterpolation: StringInterpolation) {
        self.sql = stringInterpolation.sql
        self.parameters = stringInterpolation.parameters
    }

    /// Builds a query from SQL text with explicit `$n` placeholders.
    public init(unsafeSQL sql: String, parameters: [String?] = []) {
        self.sql = sql
        self.parameters = parameters
    }

    /// Collects literal SQL and bound parameters.
    public struct StringInterpolation: StringInterpolationProtocol {
        var sql = ""
        var parameters: [String?] = []

        public init(literalCapacity: Int, interpolationCount: Int) {
            sql.reserveCapacity(literalCapacity + interpolationCount * 3)
        }

        public mutating func appendLiteral(_ literal: String) {
            sql += literal
        }

        public mutating func appendInterpolation(_ value: some PostgresEncodable) {
            parameters.append(value.postgresText)
            sql += "$\(parameters.count)"
        }

        public mutating func appendInterpolation(_ value: (some PostgresEncodable)?) {
            parameters.append(value?.postgresText)
            sql += "$\(parameters.count)"
        }

        /// Appends a double-quoted SQL identifier (table or column name).
        public mutating func appendInterpolation(identifier: String) {
            sql += PostgresQuery.quoteIdentifier(identifier)
        }
    }

    /// Quotes an identifier the way Postgres' `quote_ident` does.
    public static func quoteIdentifier(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Quotes a string constant the way libpq's `PQescapeLiteral` does, for the
    /// few statements that take no parameters (`COMMENT ON … IS`): quotes
    /// doubled, and with backslashes doubled under an `E` prefix. NUL cannot
    /// be in a Postgres string, so it is dropped.
    public static func quoteLiteral(_ text: String) -> String {
        let clean = text.contains("\u{0}") ? text.replacingOccurrences(of: "\u{0}", with: "") : text
        let quoted = clean.replacingOccurrences(of: "'", with: "''")
        guard quoted.contains("\\") else { return "'" + quoted + "'" }
        return "E'" + quoted.replacingOccurrences(of: "\\", with: "\\\\") + "'"
    }
}
