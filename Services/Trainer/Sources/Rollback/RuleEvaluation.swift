import JSON
import Learning

/// One rollback rule evaluated on one monitoring report of the live version.
struct RuleEvaluation: Sendable, Equatable {
    enum Verdict: String, Sendable {
        case ok, tripped
        /// Too few labelled predictions (or predictions) to judge.
        case insufficient
        /// The report has no such figure (e.g. no ground truth yet, or a classifier's metric on a regression).
        case unavailable
    }

    let rule: RollbackRule
    let value: Double?
    let samples: Int?
    let verdict: Verdict

    /// Evaluates `rule` on a stored report (`monitoring_reports.report`); `latency` is the
    /// window's p99 latency in milliseconds and the number of requests it is over.
    static func evaluate(_ rule: RollbackRule, report: JSONValue, latency: (p99: Double?, requests: Int)?)
        -> RuleEvaluation
    {
        let value: Double?
        let samples: Int?
        switch rule.measure {
        case .liveMetric(let metric):
            value = report["live_metrics"]?[metric]?.doubleValue
            samples = report["labelled"]?.integerValue.map { Int($0) }
        case .driftShare:
            value = (report["features"]?.arrayValue?.isEmpty ?? true) ? nil : report["drift_share"]?.doubleValue
            samples = report["rows"]?.integerValue.map { Int($0) }
        case .predictionDrift:
            value = report["prediction"]?["drifted"]?.boolValue.map { $0 ? 1 : 0 }
            samples = report["rows"]?.integerValue.map { Int($0) }
        case .p99LatencyMilliseconds:
            value = latency?.p99
            samples = latency?.requests
        }
        let verdict: Verdict
        if (samples ?? 0) < rule.minSamples {
            verdict = .insufficient
        } else if let value, value.isFinite {
            verdict = rule.trips(value) ? .tripped : .ok
        } else {
            verdict = .unavailable
        }
        return RuleEvaluation(rule: rule, value: value, samples: samples, verdict: verdict)
    }

    /// "live_rmse 5.2 > max 4 (250 samples)", for reasons.
    var summary: String {
        let shown = value.map { RollbackRule.format(($0 * 10000).rounded() / 10000) } ?? "n/a"
        return "\(rule.name) \(shown) past \(rule.boundText) (\(samples ?? 0) samples)"
    }
}
