import Foundation
import Learning
import Mustache

/// Numbers and times as the pages print them.
enum DashboardFormat {
    static func number(_ value: Double) -> String {
        guard value.isFinite else { return value.isNaN ? "–" : (value > 0 ? "∞" : "−∞") }
        if value == value.rounded(), abs(value) < 1e9 { return String(Int(value)) }
        return String(format: "%.4g", value)
    }

    /// "2026-11-24 17:05:09Z" (UTC). By hand: a format style per row was a tenth of a 200-run page.
    static func date(_ date: Date?) -> String {
        guard let date else { return "" }
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday)) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }

    /// The stylesheet's class of a state: `rolled back` → `state-rolled-back`.
    static func stateClass(_ state: String) -> String {
        state == "rolled back" ? "state-rolled-back" : "state-" + state
    }

    /// "350 ms" below a second, "1.5 s" above.
    static func seconds(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "" }
        if value < 1 { return "\(Int((value * 1000).rounded())) ms" }
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10) s"
    }
}
