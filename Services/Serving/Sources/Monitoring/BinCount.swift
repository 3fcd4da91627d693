import Foundation
import Postgres

/// One bin of one monitored column of one version, over some rows of the
/// log: how many rows it holds, their sum (numeric bins) and how many fell
/// outside the training range. Read raw (`BinsQuery`) or summed from the
/// rollups; both add up the same way.
struct BinCount: Sendable, Equatable {
    /// The 10-second period the rows fall in (the rollup job's counts only).
    var period: Date?
    let version: String
    /// A feature, or "" for the prediction.
    let column: String
    /// The `width_bucket` bin or the category; nil for a missing value.
    let bucket: String?
    let count: Int
    let sum: Double?
    let outside: Int
}
