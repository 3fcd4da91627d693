import Foundation

/// A CSV file held in memory as its bytes plus the byte range of every field
/// (RFC 4180 quoting; `""` inside quotes is a quote). Fields become strings or
/// numbers only when a column is asked for, so loading a 200k-row numeric file
/// never creates millions of `String`s (measured: 4× faster than splitting
/// into `[[String]]`, see `Benchmarks/`). Ragged rows are errors naming their line.
public struct CSVTable: Sendable {
    public let header: [String]
    /// Number of data rows (the header excluded).
    public let rowCount: Int
    public var columnCount: Int { header.count }

    private let storage: Storage
    /// The first data row of this table within `storage` (tables can be row slices).
    private let firstRow: Int

    /// A CSV problem with the 1-based line it was found on.
    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public let line: Int
        public let problem: String
        public init(line: Int, problem: String) {
            self.line = line
            self.problem = problem
        }
        public var description: String { "line \(line): \(problem)" }
    }

    /// The parsed bytes, shared by a table and its slices.
    final class Storage: Sendable {
        /// The file's bytes.
        let bytes: [UInt8]
        /// `[start, end)` byte offsets of each field, row-major over data rows.
        let starts: [Int32]
        let ends: [Int32]
        /// 1-based source line of each data row.
        let lines: [Int32]
        /// Fields that held `""` escapes, unescaped, by field index.
        let unescaped: [Int: String]

        init(bytes: [UInt8], starts: [Int32], ends: [Int32], lines: [Int32], unescaped: [Int: String]) {
            self.bytes = bytes
            self.starts = starts
            self.ends = ends
            self.lines = lines
            self.unescaped = unescaped
        }
    }

    /// Reads and parses a file.
    public init(contentsOf url: URL) throws {
        try self.init(bytes: try Self.readFile(url))
    }

    /// The file's bytes, read straight into an array (one copy, not Data → Array).
    static func readFile(_ url: URL) throws -> [UInt8] {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        let size = Int(try handle.seekToEnd())
        try handle.seek(toOffset: 0)
        let descriptor = handle.fileDescriptor
        var bytes = [UInt8](repeating: 0, count: size)
        var filled = 0
        try bytes.withUnsafeMutableBytes { buffer in
            while filled < size {
                let count = read(descriptor, buffer.baseAddress! + filled, size - filled)
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { throw CocoaError(.fileReadUnknown) }
                filled += count
            }
        }
        return bytes
    }

    /// Builds a table from already-split rows (tests and small inputs).
    public init(header: [String], rows: [[String]]) throws {
        let text = ([header] + rows).map { row in
            row.map { field in
                field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" })
                    ? "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : field
            }.joined(separator: ",")
        }.joined(separator: "\n")
        try self.init(bytes: Array(text.utf8))
    }

    /// Parses CSV bytes; the first record is the header.
    public init(bytes original: [UInt8]) throws {
        // Old Mac line endings (CR alone) are line endings too (RFC 4180 readers accept them).
        let lineFeed = UInt8(ascii: "\n")
        let carriageReturn = UInt8(ascii: "\r")
        let input =
            original.contains(carriageReturn) && !original.contains(lineFeed)
            ? original.map { $0 == carriageReturn ? lineFeed : $0 } : original
        guard input.count < Int(Int32.max) else {
            throw ParseError(line: 1, problem: "the file is over 2 GiB")
        }
        let bytes = input
        var starts: [Int32] = []
        var ends: [Int32] = []
        var lines: [Int32] = []
        var unescaped: [Int: String] = [:]
        var header: [String] = []
        var width = -1
        // Estimate capacity from the first line to avoid regrowth.
        let firstNewline = input.firstIndex(of: UInt8(ascii: "\n")) ?? input.count
        let estimatedRows = input.count / max(1, firstNewline + 1) + 1
        let estimatedWidth = input[..<firstNewline].reduce(1) { $0 + ($1 == UInt8(ascii: ",") ? 1 : 0) }
        starts.reserveCapacity(estimatedRows * estimatedWidth)
        ends.reserveCapacity(estimatedRows * estimatedWidth)
        lines.reserveCapacity(estimatedRows)

        try input.withUnsafeBufferPointer { buffer in
            let count = buffer.count
            let quote = UInt8(ascii: "\"")
            let comma = UInt8(ascii: ",")
            let newline = UInt8(ascii: "\n")
            let cr = UInt8(ascii: "\r")
            // A UTF-8 byte order mark is not part of the first column's name.
            var index = count >= 3 && buffer[0] == 0xEF && buffer[1] == 0xBB && buffer[2] == 0xBF ? 3 : 0
            var line = 1
            var fieldsInRecord = 0
            var recordLine = 1
            var recordStartField = 0
            var isHeader = true

            func finishRecord() throws {
                // A blank line (one empty field) is skipped.
                if fieldsInRecord == 1, starts.last == ends.last, !unescaped.keys.contains(starts.count - 1) {
                    starts.removeLast()
                    ends.removeLast()
                } else if isHeader {
                    header = (0..<fieldsInRecord).map { offset -> String in
                        let field = recordStartField + offset
                        let text =
                            unescaped[field]
                            ?? String(
                                decoding: UnsafeBufferPointer(rebasing: buffer[Int(starts[field])..<Int(ends[field])]),
                                as: UTF8.self)
                        return text.trimmingCharacters(in: .whitespaces)
                    }
                    width = fieldsInRecord
                    starts.removeAll(keepingCapacity: true)
                    ends.removeAll(keepingCapacity: true)
                    unescaped.removeAll()
                    isHeader = false
                } else {
                    guard fieldsInRecord == width else {
                        throw ParseError(
                            line: recordLine, problem: "has \(fieldsInRecord) fields, the header has \(width)")
                    }
                    lines.append(Int32(recordLine))
                }
                fieldsInRecord = 0
                recordStartField = starts.count
            }

            while index < count {
                // One field starts at `index`.
                if fieldsInRecord == 0 { recordLine = line }
                if buffer[index] == quote {
                    index += 1
                    let start = index
                    var escaped: [UInt8]? = nil
                    var closed = false
                    while index < count {
                        let byte = buffer[index]
                        if byte == quote {
                            if index + 1 < count, buffer[index + 1] == quote {
                                if escaped == nil { escaped = Array(buffer[start..<index]) }
                                escaped!.append(quote)
                                index += 2
                                continue
                            }
                            closed = true
                            break
                        }
                        if byte == newline { line += 1 }
                        escaped?.append(byte)
                        index += 1
                    }
                    guard closed else { throw ParseError(line: recordLine, problem: "a quoted field is not closed") }
                    starts.append(Int32(start))
                    ends.append(Int32(index))
                    if let escaped { unescaped[starts.count - 1] = String(decoding: escaped, as: UTF8.self) }
                    index += 1  // the closing quote
                    // Anything up to the next separator after a closing quote is ignored, as most readers do.
                    while index < count, buffer[index] != comma, buffer[index] != newline { index += 1 }
                } else {
                    let start = index
                    while index < count {
                        let byte = buffer[index]
                        if byte == comma || byte == newline { break }
                        index += 1
                    }
                    var end = index
                    if end > start, buffer[end - 1] == cr { end -= 1 }
                    starts.append(Int32(start))
                    ends.append(Int32(end))
                }
                fieldsInRecord += 1
                if index < count, buffer[index] == comma {
                    index += 1
                    if index == count {  // a trailing comma at the end of the file: one more empty field
                        starts.append(Int32(index))
                        ends.append(Int32(index))
                        fieldsInRecord += 1
                    }
                    continue
                }
                // End of record (newline or end of input).
                try finishRecord()
                if index < count {
                    index += 1
                    line += 1
                }
            }
        }
        guard width > 0 else { throw ParseError(line: 1, problem: "the file is empty") }
        self.header = header
        self.rowCount = lines.count
        self.firstRow = 0
        self.storage = Storage(bytes: bytes, starts: starts, ends: ends, lines: lines, unescaped: unescaped)
    }

    private init(header: [String], storage: Storage, firstRow: Int, rowCount: Int) {
        self.header = header
        self.storage = storage
        self.firstRow = firstRow
        self.rowCount = rowCount
    }

    /// The rows in `range` as a table sharing this one's storage.
    public func slice(_ range: Range<Int>) -> CSVTable {
        precondition(range.lowerBound >= 0 && range.upperBound <= rowCount)
        return CSVTable(header: header, storage: storage, firstRow: firstRow + range.lowerBound, rowCount: range.count)
    }

    /// The index of a named column, if present.
    public func column(_ name: String) -> Int? { header.firstIndex(of: name) }

    /// The 1-based line of the file on which data row `row` starts.
    public func line(ofRow row: Int) -> Int { Int(storage.lines[firstRow + row]) }

    /// One field as text.
    public func field(row: Int, column: Int) -> String {
        let index = (firstRow + row) * header.count + column
        if let text = storage.unescaped[index] { return text }
        return storage.bytes.withUnsafeBufferPointer { buffer in
            String(
                decoding: UnsafeBufferPointer(
                    rebasing: buffer[Int(storage.starts[index])..<Int(storage.ends[index])]), as: UTF8.self)
        }
    }

    /// Every field of one column as text.
    public func strings(column: Int) -> [String] { (0..<rowCount).map { field(row: $0, column: column) } }

    /// The table as CSV text (RFC 4180: fields with commas, quotes or line
    /// breaks quoted), for handing a split to the repository's own code.
    public func csvText() -> String {
        func quoted(_ field: String) -> String {
            guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
            return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        var text = header.map(quoted).joined(separator: ",") + "\n"
        for index in 0..<rowCount { text += row(index).map(quoted).joined(separator: ",") + "\n" }
        return text
    }

    /// One row as text (for reports and tests).
    public func row(_ row: Int) -> [String] { (0..<header.count).map { field(row: row, column: $0) } }

    /// A column parsed as numbers: missing markers become NaN, and fields that
    /// are neither numbers nor missing are listed (as row indices) in `invalid`.
    public func numbers(column: Int) -> (values: [Double], invalid: [Int]) {
        var values = [Double](repeating: .nan, count: rowCount)
        var invalid: [Int] = []
        let width = header.count
        storage.bytes.withUnsafeBufferPointer { buffer in
            storage.starts.withUnsafeBufferPointer { starts in
                storage.ends.withUnsafeBufferPointer { ends in
                    for row in 0..<rowCount {
                        let index = (firstRow + row) * width + column
                        let start = Int(starts[index])
                        let end = Int(ends[index])
                        if let number = NumberParser.parse(buffer, start, end) {
                            values[row] = number
                        } else if !Self.isMissing(buffer, start, end) {
                            if let text = storage.unescaped[index], let number = Double(text) {
                                values[row] = number
                            } else {
                                invalid.append(row)
                            }
                        }
                    }
                }
            }
        }
        return (values, invalid)
    }

    /// Whether a raw field counts as missing (empty, NA, null, NaN, …).
    public static func isMissing(_ field: String) -> Bool { missingMarkers.contains(field) }

    static let missingMarkers: Set<String> = ["", "NA", "N/A", "na", "n/a", "null", "NULL", "None", "NaN", "nan"]

    private static func isMissing(_ buffer: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Bool {
        if start == end { return true }
        guard end - start <= 4 else { return false }
        return missingMarkers.contains(
            String(decoding: UnsafeBufferPointer(rebasing: buffer[start..<end]), as: UTF8.self))
    }
}
