import Learning
import Testing

@testable import TrainerService

@Suite("Gates")
struct GateEvaluationTests {
    static func manifest(_ gates: String) throws -> Manifest {
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
