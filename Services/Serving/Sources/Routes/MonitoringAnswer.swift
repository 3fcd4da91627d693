import DurationUnits
import Foundation
import Hummingbird
import JSON
import ServiceKit

/// The body of `GET /monitoring`.
struct MonitoringAnswer: Encodable {
    let reports: [MonitoringReport]
    let interval: Duration
    /// The rollback rules of each version, as the trainer last evaluated them.
    var rules: [RuleEvaluationRecord] = []

    enum CodingKeys: String, CodingKey {
        case reports, rules
        case intervalSeconds = "interval_seconds"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(reports, forKey: .reports)
        try container.encode(rules, forKey: .rules)
        try container.encode(interval.inSeconds, forKey: .intervalSeconds)
    }
}
