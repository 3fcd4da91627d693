import Learning

/// Applies the manifest's gates: absolute bounds, then no regression against
/// the deployed model.
public enum GateEvaluation {
    public static func evaluate(
        manifest: Manifest, metrics: [String: Double], deployedMetrics: [String: Double]?
    ) -> [GateResult] {
        var results: [GateResult] = []
        for (metric, bound) in manifest.gates.sorted(by: { $0.key < $1.key }) {
            let value = metrics[metric] ?? .nan
            if let max = bound.max {
                results.append(
                    GateResult(
                        gate: "\(metric).max", metric: metric, value: value, threshold: max, passed: value <= max,
                        detail: "\(metric) \(format(value)) must be ≤ \(format(max))"))
            }
            if let min = bound.min {
                results.append(
                    GateResult(
                        gate: "\(metric).min", metric: metric, value: value, threshold: min, passed: value >= min,
                        detail: "\(metric) \(format(value)) must be ≥ \(format(min))"))
            }
        }
        if let rule = manifest.noRegression {
            let value = metrics[rule.metric] ?? .nan
            let tolerance = rule.tolerance ?? 0
            if let deployed = deployedMetrics?[rule.metric] {
                let higherIsBetter = RegressionMetrics.higherIsBetter(rule.metric)
                let threshold =
                    higherIsBetter ? deployed - abs(deployed) * tolerance : deployed + abs(deployed) * tolerance
                let passed = higherIsBetter ? value >= threshold : value <= threshold
                results.append(
                    GateResult(
                        gate: "no_regression", metric: rule.metric, value: value, threshold: threshold, passed: passed,
                        detail:
                            "\(rule.metric) \(format(value)) vs deployed \(format(deployed)) (tolerance \(tolerance))"))
            } else {
                results.append(
                    GateResult(
                        gate: "no_regression", metric: rule.metric, value: value, threshold: value, passed: true,
                        detail: "no deployed model to compare with"))
            }
        }
        return results
    }

    /// `gates.shadow`: bounds on how differently the candidate answers the live model's logged requests.
    public static func shadow(_ gate: Manifest.ShadowGate, _ comparison: ShadowComparison?) -> [GateResult] {
        let minimum = gate.minRequests ?? 1
        guard let comparison, comparison.requests >= minimum else {
            let detail =
                comparison.map {
                    "only \($0.requests) logged requests of \($0.liveVersion) (min_requests \(minimum)): not compared"
                } ?? "no logged requests of a live model to replay: not compared"
            return [
                GateResult(
                    gate: "shadow", metric: "shadow_requests", value: Double(comparison?.requests ?? 0),
                    threshold: Double(minimum), passed: true, detail: detail)
            ]
        }
        let bounds: [(String, Double?, Double?)] = [
            ("label_disagreement", gate.maxLabelDisagreement, comparison.labelDisagreement),
            ("probability_shift", gate.maxProbabilityShift, comparison.meanProbabilityShift),
            ("mean_abs_diff", gate.maxMeanAbsDiff, comparison.meanAbsoluteDifference),
            ("failure_share", gate.maxFailureShare, comparison.failureShare),
        ]
        return bounds.compactMap { name, bound, value in
            guard let bound else { return nil }
            guard let value else {
                return GateResult(
                    gate: "shadow.max_\(name)", metric: "shadow_\(name)", value: .nan, threshold: bound, passed: true,
                    detail: "shadow \(name) not comparable: the live model answers differently in kind")
            }
            return GateResult(
                gate: "shadow.max_\(name)", metric: "shadow_\(name)", value: value, threshold: bound,
                passed: value <= bound,
                detail:
                    "shadow \(name) \(format(value)) on \(comparison.requests) requests of \(comparison.liveVersion) must be ≤ \(format(bound))"
            )
        }
    }

    static func format(_ value: Double) -> String { String(format: "%.4g", value) }
}
