/// The rows of a result, decoded from text format.
public struct PostgresRows: Sendable, Sequence {
    /// Column names in result order.
    public let columns: [String]
    /// Cell values, row-major; `nil` is NULL.
    let cells: [[String?]]
    /// Rows affected for INSERT/UPDATE/DELETE (from the command tag).
    public let affectedRows: Int

    public var count: Int { cells.count }
    public var first: PostgresRow? { cells.first.map { PostgresRow(columns: columns, values: $0) } }

    public func makeIterator() -> some IteratorProtocol<PostgresRow> {
        let columns = columns
        return cells.lazy.map { PostgresRow(columns: columns, values: $0) }.makeIterator()
    }
}

/// One result row; values are decoded by column name with errors naming it.
public struct PostgresRow: Sendable {
    public let columns: [String]
    public let values: [String?]

    /// The raw text of a column, `nil` for NULL.
    public func raw(_ column: String) throws -> String? {
        guard let index = columns.firstIndex(of: column) else {
            throw PostgresError.decoding(column: column, problem: "not in the result")
        }
        return values[index]
    }

    /// Decodes a non-NULL column.
    public func decode<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        guard let text = try raw(column) else {
            throw PostgresError.decoding(column: column, problem: "is NULL, expected \(T.self)")
        }
        guard let value = T(postgresText: text) else {
            throw PostgresError.decoding(column: column, problem: "\"\(text.prefix(80))\" is not a valid \(T.self)")
        }
        return value
    }

    /// Decodes a nullable column.
    public func decodeIfPresent<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T? {
        guard try raw(column) != nil else { return nil }
        return try decode(column, as: type)
    }
}
