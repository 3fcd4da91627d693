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

/// A span of `logged_at` a query reads: `from` up to `to`, which is included
/// only for a window's end.
struct LogTimeRange: Sendable, Equatable {
    let from: Date
    let to: Date
    let includesEnd: Bool

    /// The SQL condition on `column`, its bounds bound as parameters.
    func condition(_ column: String, _ parameters: inout SQLParameters) -> String {
        "(\(column) >= \(parameters.add(from))::timestamptz AND \(column) \(includesEnd ? "<=" : "<") \(parameters.add(to))::timestamptz)"
    }

    /// Any of `ranges` (false for none).
    static func condition(_ ranges: [LogTimeRange], _ column: String, _ parameters: inout SQLParameters) -> String {
        ranges.isEmpty ? "false" : ranges.map { $0.condition(column, &parameters) }.joined(separator: " OR ")
    }
}
