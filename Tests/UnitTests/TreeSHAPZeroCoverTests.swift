import Testing

@testable import Learning

/// Trees with a branch no training row reached (an ONNX model trained on other data than the
/// run's split can have them): TreeSHAP must give the path-dependent Shapley values there, not
/// 0/0. Worked by hand: root `x0 <= 0.5` (10 rows, all left), then `x1 <= 0.5` (all left);
/// leaves 1 (10 rows), 5 (none) and 3 (none), so the expected value is 1.
@Suite("TreeSHAP where a branch has no training rows")
struct TreeSHAPZeroCoverTests {
    static let ensemble = TreeEnsemble(
        nodes: [
            TreeNode(threshold: 0.5, feature: 0, child: 1),
            TreeNode(threshold: 0.5, feature: 1, child: 3),
            TreeNode(threshold: 0, feature: -1, child: 2),
            TreeNode(threshold: 0, feature: -1, child: 0),
            TreeNode(threshold: 0, feature: -1, child: 1),
        ],
        missingLeft: [false, false, false, false, false], leafValues: [1, 5, 3], covers: [10, 10, 0, 10, 0],
        roots: [0], leafWidth: 1, outputs: 1, base: [0], combine: .sum, link: .identity)

    @Test(
        "the rows into empty branches get the hand-worked values, with and without tables",
        arguments: [
            // (x0, x1) → (φ0, φ1): into the empty leaf under x1, then the empty right of the root.
            ([0.2, 0.9], [0.0, 4.0]), ([0.9, 0.1], [2.0, 0.0]), ([0.2, 0.2], [0.0, 0.0]),
        ])
    func handWorked(_ row: [Double], _ expected: [Double]) throws {
        for tabling in [false, true] {
            let shap = try #require(TreeSHAP(Self.ensemble, tabling: tabling))
            #expect(shap.tables.tabled == [tabling])
            #expect(shap.expected == [1])
            var phi = [0.0, 0.0]
            row.withUnsafeBufferPointer { row in
                phi.withUnsafeMutableBufferPointer { shap.addContributions(row, into: $0) }
            }
            #expect(zip(phi, expected).allSatisfy { abs($0 - $1) < 1e-12 }, "tabling \(tabling): \(phi)")
            var raw = [0.0]
            row.withUnsafeBufferPointer { row in
                raw.withUnsafeMutableBufferPointer { Self.ensemble.rawOutputs(row, into: $0) }
            }
            #expect(abs(phi.reduce(1, +) - raw[0]) < 1e-12, "they add up to the prediction")
        }
        // Two outputs (the second the first's negation) take the scalar pass.
        var twoOutputs = Self.ensemble
        twoOutputs.leafWidth = 2
        twoOutputs.outputs = 2
        twoOutputs.base = [0, 0]
        twoOutputs.leafValues = [1, -1, 5, -5, 3, -3]
        for tabling in [false, true] {
            let shap = try #require(TreeSHAP(twoOutputs, tabling: tabling))
            var phi = [Double](repeating: 0, count: 4)
            row.withUnsafeBufferPointer { row in
                phi.withUnsafeMutableBufferPointer { shap.addContributions(row, into: $0) }
            }
            let negated = expected.flatMap { [$0, -$0] }
            #expect(zip(phi, negated).allSatisfy { abs($0 - $1) < 1e-12 }, "two outputs, tabling \(tabling): \(phi)")
        }
    }
}
