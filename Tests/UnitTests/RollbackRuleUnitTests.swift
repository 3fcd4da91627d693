import JSON
import Learning
import Testing

@testable import TrainerService

@Suite("Rollback rules")
struct RollbackRuleUnitTests {
    static func rules(_ yaml: String) throws -> [RollbackRule] {
        try #require(
            try GateEvaluationTests.manifest("  rmse: {max: 9}", monitoring: "  rollback_when: \(yaml)").monitoring?
                .rollbackRules)
    }

    static let report = try! JSONValue.parse(
        Array(
            #"""
            {"rows": 500, "labelled": 120, "drift_share": 0.75, "features": [{"feature": "x"}],
             "prediction": {"drifted": true}, "live_metrics": {"rmse": 5.5, "mae": 4.0}}
            """#.utf8))

    @Test("each measure reads its figure; min_samples holds a rule back; a missing figure is unavailable")
    func verdicts() throws {
        let rules = try Self.rules(
            "{live_rmse: {max: 4.0, min_samples: 100}, live_mae: {max: 4.0, min_samples: 200}, live_accuracy: {min: 0.9},"
                + " drift_share: {max: 0.5}, prediction_drift: true, p99_latency_ms: {max: 50}}")
        let verdicts = Dictionary(
            uniqueKeysWithValues: rules.map { rule in
                let evaluation = RuleEvaluation.evaluate(rule, report: Self.report, latency: (p99: 72.5, requests: 400))
                return (rule.name, evaluation)
            })
        #expect(verdicts["live_rmse"]?.verdict == .tripped)
        #expect(verdicts["live_rmse"]?.summary == "live_rmse 5.5 past max 4 (120 samples)")
        #expect(verdicts["live_mae"]?.verdict == .insufficient, "120 labelled is below min_samples 200")
        #expect(verdicts["live_accuracy"]?.verdict == .unavailable, "a regression has no accuracy")
        #expect(verdicts["drift_share"]?.verdict == .tripped)
        #expect(verdicts["prediction_drift"]?.verdict == .tripped)
        #expect(verdicts["p99_latency_ms"]?.value == 72.5)
        #expect(verdicts["p99_latency_ms"]?.verdict == .tripped)
        let calm = RuleEvaluation.evaluate(
            try #require(rules.first { $0.name == "p99_latency_ms" }), report: Self.report,
            latency: (p99: 12, requests: 400))
        #expect(calm.verdict == .ok)
    }

    @Test(
        "a rule that does not parse is refused with its key",
        arguments: [
            "{live_nonsense: {max: 1}}", "{live_rmse: {}}", "{live_rmse: {max: 1, min_samples: 0}}",
            "{prediction_drift: {max: 1}}", "{drift_share: true}",
        ])
    func refused(_ yaml: String) {
        #expect(throws: Manifest.Problem.self) { try Self.rules(yaml) }
    }
}
