import Foundation
import Postgres
import Synchronization

/// What one `load` wrote: the stream's records upserted (rows of its root
/// table) and the rows written to each of its tables, children included.
public struct SingerLoadResult: Sendable {
    public var upserted = 0
    public var rowsByTable: [String: Int] = [:]
    /// Records not written, by root table, because the stored row of their key was extracted later.
    public var superseded: [String: Int] = [:]

    /// Adds another load's counts (a batch with several streams).
    public mutating func add(_ other: SingerLoadResult) {
        upserted += other.upserted
        rowsByTable.merge(other.rowsByTable, uniquingKeysWith: +)
        superseded.merge(other.superseded, uniquingKeysWith: +)
    }
}
