import CLibPQ
import Foundation

/// One blocking libpq connection.
///
/// Every method blocks the calling thread: use it through `PostgresClient`,
/// which runs it on a dedicated thread pool, never on an event loop.
///
/// `@unchecked Sendable` because a connection is only ever used by one caller
/// at a time: `PostgresClient` hands it out exclusively and takes it back, and
/// `PostgresListener` owns its own. libpq connections are safe to move between
/// threads as long as they are not used concurrently.
public final class PostgresConnection: @unchecked Sendable {
    private var handle: OpaquePointer?

    /// Opens a connection from a libpq connection string or URI.
    public init(url: String) throws {
        guard let conn = PQconnectdb(url) else { throw PostgresError.connection("out of memory") }
        guard PQstatus(conn) == CONNECTION_OK else {
            let message = Self.trimmedError(conn)
            PQfinish(conn)
            throw PostgresError.connection(message)
        }
        // Server notices would go to stderr unformatted; errors reach callers as values instead.
        PQsetNoticeProcessor(conn, { _, _ in }, nil)
        self.handle = conn
        _ = try execute("SET TimeZone = 'UTC'; SET DateStyle = 'ISO'; SET client_min_messages = warning")
    }

    deinit { close() }

    /// Closes the connection; further calls fail.
    public func close() {
        if let handle { PQfinish(handle) }
        handle = nil
    }

    /// Whether libpq still considers the connection usable.
    public var isHealthy: Bool {
        guard let handle else { return false }
        return PQstatus(handle) == CONNECTION_OK
    }

    /// Whether an idle connection is still usable, checked without a round
    /// trip: nothing should arrive on an idle pooled connection, so a readable
    /// socket means end-of-file or the server's termination message (the
    /// server restarted or killed the backend) and the connection is dropped.
    public var isUsableWhenIdle: Bool {
        guard let handle, PQstatus(handle) == CONNECTION_OK else { return false }
        var descriptor = pollfd(fd: PQsocket(handle), events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, 0) == 0
    }

    /// The socket descriptor, for waiting on notifications.
    var socket: Int32 { handle.map { PQsocket($0) } ?? -1 }

    /// Runs one parameterized statement and returns its rows.
    @discardableResult
    public func query(_ query: PostgresQuery) throws -> PostgresRows {
        let conn = try open()
        let result = withParameterPointers(query.parameters) { values in
            PQexecParams(conn, query.sql, Int32(values.count), nil, values, nil, nil, 0)
        }
        return try consume(result, conn: conn)
    }

    /// Runs one or more statements without parameters (migrations, `BEGIN`).
    @discardableResult
    public func execute(_ sql: String) throws -> PostgresRows {
        let conn = try open()
        return try consume(PQexec(conn, sql), conn: conn)
    }

    /// Runs `body` inside `BEGIN … COMMIT`, rolling back when it throws.
    @discardableResult
    public func transaction<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        try execute("BEGIN")
        do {
            let value = try body(self)
            try execute("COMMIT")
            return value
        } catch {
            if isHealthy { _ = try? execute("ROLLBACK") }
            throw error
        }
    }

    /// Streams rows through `COPY <table> (<columns>) FROM STDIN` in text format.
    /// Returns the number of rows copied.
    @discardableResult
    public func copyIn(table: String, columns: [String], rows: some Sequence<[String?]>) throws -> Int {
        var count = 0
        try copyIn(table: table, columns: columns) { send in
            var buffer: [UInt8] = []
            buffer.reserveCapacity(1 << 16)
            for row in rows {
                CopyTextFormat.append(row: row, to: &buffer)
                count += 1
                if buffer.count >= 1 << 16 {
                    try send(buffer[...])
                    buffer.removeAll(keepingCapacity: true)
                }
            }
            if !buffer.isEmpty { try send(buffer[...]) }
        }
        return count
    }

    /// Sends bytes already in COPY text format (see `CopyTextFormat.append`)
    /// through `COPY <table> (<columns>) FROM STDIN`.
    public func copyIn(table: String, columns: [String], encoded: [UInt8]) throws {
        try copyIn(table: table, columns: columns) { send in
            var offset = 0
            while offset < encoded.count {
                let end = min(encoded.count, offset + (1 << 16))
                try send(encoded[offset..<end])
                offset = end
            }
        }
    }

    private func copyIn(
        table: String, columns: [String], produce: ((ArraySlice<UInt8>) throws -> Void) throws -> Void
    ) throws {
        let conn = try open()
        let columnList = columns.map(PostgresQuery.quoteIdentifier).joined(separator: ", ")
        let tableName = table.split(separator: ".").map { PostgresQuery.quoteIdentifier(String($0)) }
            .joined(separator: ".")
        let start = PQexec(conn, "COPY \(tableName) (\(columnList)) FROM STDIN")
        guard PQresultStatus(start) == PGRES_COPY_IN else {
            _ = try consume(start, conn: conn)
            throw PostgresError.connection("COPY did not start")
        }
        PQclear(start)
        var failure: Error?
        do {
            try produce { chunk in
                let sent = chunk.withUnsafeBufferPointer { bytes in
                    bytes.withMemoryRebound(to: CChar.self) { PQputCopyData(conn, $0.baseAddress, Int32($0.count)) }
                }
                if sent != 1 { throw PostgresError.connection(Self.trimmedError(conn)) }
            }
        } catch {
            failure = error
        }
        let ended = failure == nil ? PQputCopyEnd(conn, nil) : PQputCopyEnd(conn, "aborted by the client")
        guard ended == 1 else { throw PostgresError.connection(Self.trimmedError(conn)) }
        while let result = PQgetResult(conn) {
            do { _ = try consume(result, conn: conn) } catch { failure = failure ?? error }
        }
        if let failure { throw failure }
    }

    /// Subscribes this connection to a channel.
    public func listen(_ channel: String) throws {
        try execute("LISTEN \(PostgresQuery.quoteIdentifier(channel))")
    }

    /// Sends a notification (parameterized through `pg_notify`).
    public func notify(_ channel: String, payload: String = "") throws {
        try query("SELECT pg_notify(\(channel), \(payload))")
    }

    /// Reads whatever the server has sent and returns pending notifications.
    /// Throws when the connection is gone.
    func drainNotifications() throws -> [PostgresNotification] {
        let conn = try open()
        guard PQconsumeInput(conn) == 1 else { throw PostgresError.connection(Self.trimmedError(conn)) }
        var received: [PostgresNotification] = []
        while let notify = PQnotifies(conn) {
            let message = notify.pointee
            received.append(
                PostgresNotification(
                    channel: String(cString: message.relname),
                    payload: message.extra.map { String(cString: $0) } ?? "",
                    senderPID: message.be_pid))
            PQfreemem(notify)
        }
        return received
    }

    // MARK: - Internals

    private func open() throws -> OpaquePointer {
        guard let handle else { throw PostgresError.connection("connection is closed") }
        return handle
    }

    private func consume(_ result: OpaquePointer?, conn: OpaquePointer) throws -> PostgresRows {
        guard let result else { throw PostgresError.connection(Self.trimmedError(conn)) }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            return PostgresRows(columns: [], cells: [], affectedRows: Self.affectedRows(result))
        case PGRES_TUPLES_OK, PGRES_SINGLE_TUPLE:
            return Self.rows(of: result)
        default:
            func field(_ code: Int32) -> String? {
                PQresultErrorField(result, code).map { String(cString: $0) }
            }
            let state = field(Int32(UInt8(ascii: "C"))) ?? "?????"
            guard state != "?????" || isHealthy else {
                throw PostgresError.connection(Self.trimmedError(conn))
            }
            throw PostgresError.server(
                sqlState: state,
                message: field(Int32(UInt8(ascii: "M"))) ?? Self.trimmedError(conn),
                detail: field(Int32(UInt8(ascii: "D"))))
        }
    }

    private static func rows(of result: OpaquePointer) -> PostgresRows {
        let rowCount = Int(PQntuples(result))
        let columnCount = Int(PQnfields(result))
        let columns = (0..<columnCount).map { String(cString: PQfname(result, Int32($0))) }
        var cells: [[String?]] = []
        cells.reserveCapacity(rowCount)
        for row in 0..<Int32(rowCount) {
            var values: [String?] = []
            values.reserveCapacity(columnCount)
            for column in 0..<Int32(columnCount) {
                if PQgetisnull(result, row, column) == 1 {
                    values.append(nil)
                } else {
                    values.append(String(cString: PQgetvalue(result, row, column)))
                }
            }
            cells.append(values)
        }
        return PostgresRows(columns: columns, cells: cells, affectedRows: rowCount)
    }

    private static func affectedRows(_ result: OpaquePointer) -> Int {
        Int(String(cString: PQcmdTuples(result))) ?? 0
    }

    static func trimmedError(_ conn: OpaquePointer) -> String {
        String(cString: PQerrorMessage(conn)).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// Calls `body` with C string pointers for the parameters (NULL for nil).
private func withParameterPointers<R>(
    _ parameters: [String?], _ body: ([UnsafePointer<CChar>?]) -> R
) -> R {
    let owned: [UnsafeMutablePointer<CChar>?] = parameters.map { $0.map { strdup($0) } }
    defer { for pointer in owned { free(pointer) } }
    return body(owned.map { $0.map { UnsafePointer($0) } })
}
