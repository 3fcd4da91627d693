import Learning

/// A candidate model's gates, the shadow replay of the live model's logged
/// requests included: one evaluation for a model a run trained and for a
/// preview's model that the merge of its tree reuses.
struct CandidateVerdict: Sendable {
    let gates: [GateResult]
    /// How the candidate answered the live model's logged requests (nil when there were none).
    let shadow: ShadowComparison?

    /// Applies `manifest`'s gates to `candidate`'s `metrics` (no regression against
    /// `deployedMetrics`) and, when the live model has logged requests, replays them
    /// (`timings` gets the replay as `shadow`); `log` gets the replay and a line per gate.
    static func evaluate(
        manifest: Manifest, candidate: ModelArtifact, metrics: [String: Double], deployedMetrics: [String: Double]?,
        replay: (version: String, requests: [ShadowRequest])?, timings: StageTimings, log: (String) -> Void,
        answer: ShadowReplay.Answerer? = nil
    ) -> CandidateVerdict {
        var gates = GateEvaluation.evaluate(manifest: manifest, metrics: metrics, deployedMetrics: deployedMetrics)
        var shadow: ShadowComparison?
        if let replay, !replay.requests.isEmpty, manifest.task != .forecast, candidate.python != nil, answer == nil {
            log("shadow: replay skipped (this Python model's worker is not running here)")
        } else if let replay, !replay.requests.isEmpty, manifest.task != .forecast {
            let limit = manifest.shadow?.requests ?? Manifest.ShadowGate.defaultRequests
            let comparison = timings.measure(.shadow) {
                ShadowReplay.compare(
                    candidate: candidate, liveVersion: replay.version, requests: Array(replay.requests.prefix(limit)),
                    answer: answer)
            }
            shadow = comparison
            log(ShadowReplay.describe(comparison))
        }
        if let gate = manifest.shadow { gates += GateEvaluation.shadow(gate, shadow) }
        for gate in gates { log("gate \(gate.gate): \(gate.passed ? "pass" : "FAIL") — \(gate.detail)") }
        return CandidateVerdict(gates: gates, shadow: shadow)
    }
}
