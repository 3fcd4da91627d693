import Postgres

/// A table as the loader writes it: its name, its columns, and which column
/// each slot of the stream table fills.
struct SingerRemoteTable: Sendable, Equatable {
    let name: String
    /// Distinct column names, in slot order.
    let columns: [String]
    /// For each slot of the stream table, its index in `columns`.
    let slotColumns: [Int]
    /// The columns of the table's key properties.
    let keyColumns: [String]
    /// The `_sdc_sequence` column.
    let sequenceColumn: String
    /// The `_sdc_received_at` column (root tables), which breaks ties of `_sdc_sequence`.
    let receivedColumn: String?
}
