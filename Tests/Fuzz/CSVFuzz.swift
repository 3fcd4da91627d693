/// libFuzzer entry: any bytes either parse as a table or throw a `ParseError`
/// naming a line; every field of a parsed table is readable, and numbers
/// parse as finite decimals or not at all.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCSV(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let table = try? CSVTable(bytes: bytes) {
        for row in 0..<min(table.rowCount, 64) {
            _ = table.line(ofRow: row)
            for column in 0..<table.header.count {
                let field = table.field(row: row, column: column)
                if let number = NumberParser.parse(field) { precondition(!number.isNaN) }
            }
        }
    }
    return 0
}
