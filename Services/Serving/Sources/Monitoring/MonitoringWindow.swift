import Foundation
import Learning
import Postgres

/// The window a report covers: the requests holding the last N predictions, or the last M minutes.
struct MonitoringWindow: Sendable, Equatable {
    let last: Int?
    let minutes: Double?

    init(_ spec: MonitoringSpec.Window) {
        last = spec.minutes == nil ? (spec.last ?? 1000) : nil
        minutes = spec.minutes
    }

    var kind: String { minutes == nil ? "last" : "minutes" }
    var size: Double { minutes ?? Double(last ?? 0) }
    /// The earliest time a row may have (the distant past for "last N").
    func since(_ now: Date) -> Date {
        minutes.map { now.addingTimeInterval(-$0 * 60) } ?? Date(timeIntervalSince1970: 0)
    }
}
