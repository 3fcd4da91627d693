import Foundation

/// A CSV file read into memory: a header and rows of raw fields (RFC 4180
/// quoting; `""` inside quotes is a quote). Ragged rows are errors that name
/// their line.
public struct CSVTable: Sendable {
    public let header: [String]
    public let rows: [[String]]

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

    public init(header: [String], rows: [[String]]) {
        self.header = header
        self.rows = rows
    }

    /// Reads and parses a file.
    public init(contentsOf url: URL) throws {
        try self.init(bytes: Array(try Data(contentsOf: url)))
    }

    /// Parses CSV bytes; the first record is the header.
    public init(bytes: [UInt8]) throws {
        var records: [[String]] = []
        var field: [UInt8] = []
        var record: [String] = []
        var inQuotes = false
        var line = 1
        var recordLine = 1
        var index = 0
        let count = bytes.count
        let quote = UInt8(ascii: "\"")
        let comma = UInt8(ascii: ",")
        let newline = UInt8(ascii: "\n")
        let cr = UInt8(ascii: "\r")
        func endField() {
            record.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
        }
        func endRecord() throws {
            endField()
            if !(record.count == 1 && record[0].isEmpty) {
                if let width = records.first?.count, record.count != width {
                    throw ParseError(line: recordLine, problem: "has \(record.count) fields, the header has \(width)")
                }
                records.append(record)
            }
            record = []
        }
        while index < count {
            let byte = bytes[index]
            if inQuotes {
                if byte == quote {
                    if index + 1 < count, bytes[index + 1] == quote {
                        field.append(quote)
                        index += 1
                    } else {
                        inQuotes = false
                    }
                } else {
                    if byte == newline { line += 1 }
                    field.append(byte)
                }
            } else if byte == quote && field.isEmpty {
                inQuotes = true
            } else if byte == comma {
                endField()
            } else if byte == newline {
                try endRecord()
                line += 1
                recordLine = line
            } else if byte != cr {
                field.append(byte)
            }
            index += 1
        }
        if inQuotes { throw ParseError(line: recordLine, problem: "a quoted field is not closed") }
        if !field.isEmpty || !record.isEmpty { try endRecord() }
        guard let header = records.first else { throw ParseError(line: 1, problem: "the file is empty") }
        self.header = header.map { $0.trimmingCharacters(in: .whitespaces) }
        self.rows = Array(records.dropFirst())
    }

    /// The index of a named column, if present.
    public func column(_ name: String) -> Int? { header.firstIndex(of: name) }

    /// Whether a raw field counts as missing (empty, NA, null, NaN).
    public static func isMissing(_ field: String) -> Bool {
        switch field {
        case "", "NA", "N/A", "na", "null", "NULL", "NaN", "nan": true
        default: false
        }
    }
}
