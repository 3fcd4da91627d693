import Foundation
import Postgres

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
