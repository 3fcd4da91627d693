import Foundation
import Learning
import Testing

@testable import TrainerService

@Suite("Gates")
struct GateEvaluationTests {
    /// A one-feature regression manifest with `gates` (and a `monitoring:` block when given).
    static func manifest(_ gates: String, monitoring: String? = nil) throws -> Manifest {
        try Manifest.parse(
            """
            name: m
            task: regression
            data: {path: d.csv, split: {test_fraction: 0.2}}
            target: y
            features: [{name: x, type: numeric}]
            model: {algorithm: linear_regression}
            gates:
            \(gates)
            \(monitoring.map { "monitoring:\n" + $0 } ?? "")
            """)
    }

    @Test(
        "absolute bounds pass and fail by the metric's value",
        arguments: [(3.0, true), (5.0, true), (5.01, false)])
    func maxBound(_ rmse: Double, _ passes: Bool) throws {
        let results = GateEvaluation.evaluate(
            manifest: try Self.manifest("  rmse: {max: 5.0}"), metrics: ["rmse": rmse], deployedMetrics: nil)
        #expect(results.map(\.passed) == [passes])
        #expect(results[0].gate == "rmse.max")
    }

    @Test("a metric the model did not produce fails its gate")
    func missingMetric() throws {
        let results = GateEvaluation.evaluate(
            manifest: try Self.manifest("  r2: {min: 0.5}"), metrics: ["rmse": 1], deployedMetrics: nil)
        #expect(results.map(\.passed) == [false])
    }

    @Test(
        "no regression compares with the deployed model within the tolerance",
        arguments: [(1.04, true), (1.06, false)])
    func noRegression(_ rmse: Double, _ passes: Bool) throws {
        let manifest = try Self.manifest("  no_regression: {metric: rmse, tolerance: 0.05}")
        let results = GateEvaluation.evaluate(manifest: manifest, metrics: ["rmse": rmse], deployedMetrics: ["rmse": 1])
        #expect(results.map(\.passed) == [passes])
    }

    @Test("no regression passes when nothing is deployed yet, and higher-is-better metrics compare upward")
    func noRegressionEdges() throws {
        let manifest = try Self.manifest("  no_regression: {metric: r2, tolerance: 0.1}")
        #expect(GateEvaluation.evaluate(manifest: manifest, metrics: ["r2": 0.1], deployedMetrics: nil)[0].passed)
        let worse = GateEvaluation.evaluate(manifest: manifest, metrics: ["r2": 0.7], deployedMetrics: ["r2": 0.9])
        #expect(!worse[0].passed)
    }
}

@Suite("Shadow replay")
struct ShadowReplayUnitTests {
    /// y = 2x + 1 fitted exactly; the live answers are that line shifted by `offset` on every request.
    static func regression() throws -> ModelArtifact {
        let rows = (0..<50).map { "\($0),\(2 * $0 + 1)" }.joined(separator: "\n")
        let table = try CSVTable(bytes: Array("x,y\n\(rows)\n".utf8))
        let manifest = try GateEvaluationTests.manifest("  rmse: {max: 1}")
        let trained = try ModelTraining.train(manifest: manifest, train: table, test: table, log: { _ in })
        var artifact = trained.artifact
        artifact.version = "v2"
        return artifact
    }

    @Test("regression: the mean and quantiles of |candidate − live|; refused instances are counted with their problem")
    func regressionDifferences() throws {
        let candidate = try Self.regression()
        var requests = (0..<100).map { index in
            ShadowRequest(
                values: ["x": .number(Double(index))],
                answer: .value(2 * Double(index) + 1 + (index < 90 ? 0.5 : 3)))
        }
        requests.append(ShadowRequest(values: ["x": .missing], answer: .value(1)))
        let comparison = ShadowReplay.compare(candidate: candidate, liveVersion: "v1", requests: requests)
        #expect(comparison.requests == 101)
        #expect(comparison.failures == 1)
        #expect(comparison.problems.first?.problem.hasPrefix("x: ") == true)
        let mean = try #require(comparison.meanAbsoluteDifference)
        #expect(abs(mean - (90 * 0.5 + 10 * 3) / 100) < 1e-6)
        #expect(abs((comparison.absoluteDifference?.p50 ?? 0) - 0.5) < 1e-6)
        #expect(abs((comparison.absoluteDifference?.max ?? 0) - 3) < 1e-6)
        #expect(comparison.labelDisagreement == nil)

        let gate = try #require(
            try GateEvaluationTests.manifest("  shadow: {max_mean_abs_diff: 0.5, max_failure_share: 0.05}").shadow)
        let results = GateEvaluation.shadow(gate, comparison)
        #expect(results.map(\.gate) == ["shadow.max_mean_abs_diff", "shadow.max_failure_share"])
        #expect(results.map(\.passed) == [false, true])
        let few = GateEvaluation.shadow(
            try #require(
                try GateEvaluationTests.manifest("  shadow: {min_requests: 500, max_mean_abs_diff: 0.1}").shadow),
            comparison)
        #expect(few.map(\.passed) == [true])
        #expect(few.first?.detail.contains("not compared") == true)
        #expect(GateEvaluation.shadow(gate, nil).map(\.passed) == [true])
    }

    @Test("gates.shadow: requests out of range is refused with the key named")
    func requestsBounds() throws {
        #expect(throws: Manifest.Problem.self) { try GateEvaluationTests.manifest("  shadow: {requests: 0}") }
    }
}
