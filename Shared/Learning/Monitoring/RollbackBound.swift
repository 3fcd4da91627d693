/// How a rule is written: `{max: 4.0, min_samples: 200}`, or `true` for `prediction_drift`.
public struct RollbackBound: Codable, Sendable, Equatable {
    public var max: Double?
    public var min: Double?
    public var minSamples: Int?
    /// `prediction_drift: true`.
    public var enabled: Bool?

    enum CodingKeys: String, CodingKey {
        case max, min
        case minSamples = "min_samples"
    }

    public init(from decoder: any Decoder) throws {
        if let flag = try? decoder.singleValueContainer().decode(Bool.self) {
            enabled = flag
            return
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        max = try container.decodeIfPresent(Double.self, forKey: .max)
        min = try container.decodeIfPresent(Double.self, forKey: .min)
        minSamples = try container.decodeIfPresent(Int.self, forKey: .minSamples)
    }

    public func encode(to encoder: any Encoder) throws {
        if let enabled {
            var container = encoder.singleValueContainer()
            try container.encode(enabled)
            return
        }
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(max, forKey: .max)
        try container.encodeIfPresent(min, forKey: .min)
        try container.encodeIfPresent(minSamples, forKey: .minSamples)
    }

    /// The rule `name` states, or the problem with it.
    func rule(named name: String) throws -> RollbackRule {
        let key = "monitoring.rollback_when.\(name)"
        let measure: RollbackRule.Measure
        switch name {
        case "drift_share": measure = .driftShare
        case "prediction_drift": measure = .predictionDrift
        case "p99_latency_ms": measure = .p99LatencyMilliseconds
        case let live where live.hasPrefix("live_") && RollbackRule.liveMetrics.contains(String(live.dropFirst(5))):
            measure = .liveMetric(String(live.dropFirst(5)))
        default:
            throw Manifest.Problem(
                key: key,
                problem:
                    "is not a rule: use live_<metric> (\(RollbackRule.liveMetrics.sorted().joined(separator: ", "))), drift_share, prediction_drift or p99_latency_ms"
            )
        }
        if measure == .predictionDrift {
            guard enabled == true || (enabled == nil && max == nil && min == nil) else {
                throw Manifest.Problem(key: key, problem: "is written `prediction_drift: true`")
            }
            return RollbackRule(name: name, measure: measure, max: 0, min: nil, minSamples: minSamples ?? 1)
        }
        guard enabled == nil, max != nil || min != nil else {
            throw Manifest.Problem(key: key, problem: "needs max and/or min")
        }
        for bound in [max, min].compactMap({ $0 }) where !bound.isFinite {
            throw Manifest.Problem(key: key, problem: "bounds must be finite numbers")
        }
        if let minSamples, minSamples < 1 {
            throw Manifest.Problem(key: "\(key).min_samples", problem: "must be at least 1")
        }
        return RollbackRule(name: name, measure: measure, max: max, min: min, minSamples: minSamples ?? 1)
    }
}
