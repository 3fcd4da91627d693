import Foundation

/// Exact Shapley values of a tree ensemble's raw outputs under path-dependent TreeSHAP's
/// definition (Lundberg, Erion, Lee, "Consistent Individualized Feature Attribution for
/// Tree Ensembles"): each leaf's value as a function of the known features S is
/// `v · Π_{j∈S} o_j · Π_{j∉S} z_j` over the unique features j of its path, `o_j` 1 when the
/// row goes the path's way (0 otherwise) and `z_j` the share of training rows that did
/// (the ensemble's `covers`), repeated features multiplied together. For every row,
/// `expected + Σ contributions` equals the raw output (before the link).
///
/// Computed as in Linear TreeSHAP (Yu, Bifet, Read, Xu, NeurIPS 2022) rather than with the
/// paper's path extend/unwind: the Shapley weights are a Beta integral, so feature i's share
/// of a leaf is `v (o_i − z_i) ∫₀¹ Π_{j≠i} (o_j t + z_j (1 − t)) dt`, a polynomial of degree
/// below the path's depth, which Gauss–Legendre quadrature with ⌈depth/2⌉ points integrates
/// exactly. One depth-first pass per tree carries the product at those points down and the
/// leaves' sums up, so a row costs O(nodes · depth / 2) instead of TreeSHAP's
/// O(leaves · depth²). Trees with one output and at most eight points (depth ≤ 16) take
/// `TreeSHAPVectorWalk`, the points as the lanes of a SIMD vector; the others this file's
/// scalar pass. On Benchmarks/explain.sh's 100-tree depth-12 forest: 11.1 ms a row, against
/// 24.9 ms for the scalar pass, 44 ms for the path algorithm written here first and 45.5 ms
/// for the `shap` package; shallow trees go through `TreeSHAPTables` instead (the 100-round GBDT: 39 µs
/// against 299 µs and shap's 315 µs). Equal to `shap` to 1e-9
/// (Tests/IntegrationTests/TreeSHAPOracleTests.swift). No allocation beyond one scratch
/// buffer per call.
struct TreeSHAP: Sendable {
    let ensemble: TreeEnsemble
    /// The raw output an input with nothing known gets, per output: the cover-weighted
    /// mean of the leaves, combined as the trees are (with the boosting base).
    let expected: [Double]
    /// The deepest leaf's depth over all trees (root = 0), for the scratch buffer's size.
    let maxDepth: Int
    /// Input columns the trees read (the largest index + 1).
    let columns: Int

    /// Nil when the trees carry no covers (saved before explanations). `tabling: false` leaves
    /// every tree to the depth-first pass (the tests check both ways against `shap`).
    init?(_ ensemble: TreeEnsemble, tabling: Bool = true) {
        guard ensemble.covers.count == ensemble.nodes.count, !ensemble.nodes.isEmpty else { return nil }
        self.ensemble = ensemble
        self.columns = ensemble.largestFeatureIndex + 1
        var expected = [Double](repeating: 0, count: ensemble.outputs)
        var deepest = 0
        var treeDepths: [Int] = []
        for (tree, root) in ensemble.roots.enumerated() {
            var treeDeepest = 0
            var stack: [(node: Int, depth: Int)] = [(Int(root), 0)]
            let rootCover = ensemble.covers[Int(root)]
            while let (index, depth) = stack.popLast() {
                let node = ensemble.nodes[index]
                if node.feature >= 0 {
                    stack.append((Int(node.child), depth + 1))
                    stack.append((Int(node.child) + 1, depth + 1))
                    continue
                }
                treeDeepest = max(treeDeepest, depth)
                let weight = ensemble.covers[index] / rootCover
                let leaf = Int(node.child)
                if ensemble.leafWidth == ensemble.outputs {
                    for k in 0..<ensemble.outputs {
                        expected[k] += weight * ensemble.leafValues[leaf * ensemble.leafWidth + k]
                    }
                } else {
                    expected[tree % ensemble.outputs] += weight * ensemble.leafValues[leaf]
                }
            }
            treeDepths.append(treeDeepest)
            deepest = max(deepest, treeDeepest)
        }
        switch ensemble.combine {
        case .average:
            let trees = Double(max(1, ensemble.treeCount))
            for k in expected.indices { expected[k] /= trees }
        case .sum:
            for k in expected.indices { expected[k] += ensemble.base[k] }
        }
        self.expected = expected
        self.maxDepth = deepest
        self.pointCounts = treeDepths.map(Self.pointCount)
        self.quadratures = (0...Self.pointCount(depth: deepest)).map { Self.gaussLegendre(count: max(1, $0)) }
        self.vectorRules = quadratures.prefix(9).map(TreeSHAPVectorWalk.lanes)
        self.tables = TreeSHAPTables(ensemble, quadratures: quadratures, budget: tabling ? nil : 0)
    }

    /// Precomputed shares for the trees shallow enough to table.
    let tables: TreeSHAPTables

    /// Per tree, the quadrature points its integrals need: a leaf at depth d has at most d
    /// unique features on its path, so its integrand has degree below d, and ⌈d/2⌉ points
    /// integrate it exactly (at least 1).
    let pointCounts: [Int]
    /// `quadratures[n]`: the n-point rule (points in (0, 1), weights summing to 1).
    let quadratures: [(points: [Double], weights: [Double])]

    /// `quadratures[n]` as `TreeSHAPVectorWalk`'s lanes, for n up to 8.
    let vectorRules: [(points: SIMD8<Double>, weights: SIMD8<Double>)]

    static func pointCount(depth: Int) -> Int { max(1, (depth + 1) / 2) }

    /// Gauss–Legendre points and weights on [0, 1]: Newton's method on the Legendre polynomial
    /// from Chebyshev starting points, exact for polynomials of degree below 2·count.
    static func gaussLegendre(count n: Int) -> (points: [Double], weights: [Double]) {
        var points = [Double](repeating: 0, count: n)
        var weights = [Double](repeating: 0, count: n)
        for i in 0..<((n + 1) / 2) {
            var x = cos(Double.pi * (Double(i) + 0.75) / (Double(n) + 0.5))
            var derivative = 0.0
            for _ in 0..<100 {
                var (p0, p1) = (1.0, 0.0)
                for j in 1...n {
                    (p0, p1) = (((2 * Double(j) - 1) * x * p0 - (Double(j) - 1) * p1) / Double(j), p0)
                }
                derivative = Double(n) * (x * p0 - p1) / (x * x - 1)
                let step = p0 / derivative
                x -= step
                if abs(step) < 1e-16 { break }
            }
            let weight = 2 / ((1 - x * x) * derivative * derivative)
            // Mapped from [-1, 1] to [0, 1].
            points[i] = (1 - x) / 2
            points[n - 1 - i] = (1 + x) / 2
            weights[i] = weight / 2
            weights[n - 1 - i] = weight / 2
        }
        return (points, weights)
    }

    /// Adds the contributions of `row` (encoded, NaN for missing) to `phi`, laid out
    /// `phi[column * outputs + output]` over the ensemble's input columns.
    func addContributions(_ row: UnsafeBufferPointer<Double>, into phi: UnsafeMutableBufferPointer<Double>) {
        let outputs = ensemble.outputs
        let n = Self.pointCount(depth: maxDepth)
        let levels = maxDepth + 2
        let columns = max(row.count, self.columns)
        let scale = ensemble.combine == .average ? 1 / Double(max(1, ensemble.treeCount)) : 1
        // Per level: the path product at the points (n), the subtree's sums (n × outputs), the
        // sums already counted at a deeper split on the same feature (n × outputs), whether there
        // were any, and the inverses of the node's split factor and of the factor it replaces (2n).
        let perLevel = n + 2 * n * outputs + 1 + 2 * n
        let scratch = levels * perLevel + 3 * columns
        withUnsafeTemporaryAllocation(of: Double.self, capacity: scratch) { buffer in
            let base = buffer.baseAddress!
            // Per column: the merged one and zero fractions on the current path, and the level
            // of its latest split there (-1: not on the path).
            let one = base + levels * perLevel
            let zero = one + columns
            let level = zero + columns
            for column in 0..<columns { level[column] = -1 }
            ensemble.nodes.withUnsafeBufferPointer { nodes in
                ensemble.covers.withUnsafeBufferPointer { covers in
                    ensemble.missingLeft.withUnsafeBufferPointer { missingLeft in
                        ensemble.leafValues.withUnsafeBufferPointer { values in
                            for (tree, root) in ensemble.roots.enumerated() {
                                if tables.tabled[tree] {
                                    tables.add(
                                        root: Int(root), output: ensemble.leafWidth == outputs ? -1 : tree % outputs,
                                        outputs: outputs, nodes: nodes, missingLeft: missingLeft, row: row, phi: phi)
                                    continue
                                }
                                if outputs == 1 && pointCounts[tree] < vectorRules.count {
                                    vectorWalk(
                                        root: Int(root), rule: vectorRules[pointCounts[tree]], scale: scale,
                                        nodes: nodes, covers: covers, missingLeft: missingLeft, values: values,
                                        row: row, phi: phi, one: one, zero: zero, columns: columns)
                                    continue
                                }
                                let rule = quadratures[pointCounts[tree]]
                                rule.points.withUnsafeBufferPointer { points in
                                    rule.weights.withUnsafeBufferPointer { weights in
                                        let walk = Walk(
                                            nodes: nodes, covers: covers, missingLeft: missingLeft, values: values,
                                            row: row, phi: phi, points: points, weights: weights, outputs: outputs,
                                            leafWidth: ensemble.leafWidth, scratch: base, perLevel: perLevel,
                                            maxPoints: n, one: one, zero: zero, level: level,
                                            output: ensemble.leafWidth == outputs ? -1 : tree % outputs)
                                        let product = walk.product(0)
                                        for k in 0..<points.count { product[k] = scale }
                                        walk.visit(Int(root), depth: 0)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// One tree's pass with `TreeSHAPVectorWalk` (one output, at most eight points).
    private func vectorWalk(
        root: Int, rule: (points: SIMD8<Double>, weights: SIMD8<Double>), scale: Double,
        nodes: UnsafeBufferPointer<TreeNode>, covers: UnsafeBufferPointer<Double>,
        missingLeft: UnsafeBufferPointer<Bool>, values: UnsafeBufferPointer<Double>, row: UnsafeBufferPointer<Double>,
        phi: UnsafeMutableBufferPointer<Double>, one: UnsafeMutablePointer<Double>, zero: UnsafeMutablePointer<Double>,
        columns: Int
    ) {
        let levels = maxDepth + 2
        withUnsafeTemporaryAllocation(of: SIMD8<Double>.self, capacity: levels) { deeper in
            withUnsafeTemporaryAllocation(of: Bool.self, capacity: levels) { deeperUsed in
                withUnsafeTemporaryAllocation(of: Int.self, capacity: columns) { level in
                    level.initialize(repeating: -1)
                    let walk = TreeSHAPVectorWalk(
                        nodes: nodes, covers: covers, missingLeft: missingLeft, values: values, row: row, phi: phi,
                        points: rule.points, weights: rule.weights, deeper: deeper.baseAddress!,
                        deeperUsed: deeperUsed.baseAddress!, one: one, zero: zero, level: level.baseAddress!)
                    _ = walk.visit(root, product: SIMD8(repeating: scale), depth: 0)
                }
            }
        }
    }

    /// One row's depth-first pass through one tree at a time.
    private struct Walk {
        let nodes: UnsafeBufferPointer<TreeNode>
        let covers: UnsafeBufferPointer<Double>
        let missingLeft: UnsafeBufferPointer<Bool>
        let values: UnsafeBufferPointer<Double>
        let row: UnsafeBufferPointer<Double>
        let phi: UnsafeMutableBufferPointer<Double>
        let points: UnsafeBufferPointer<Double>
        let weights: UnsafeBufferPointer<Double>
        let outputs: Int
        let leafWidth: Int
        let scratch: UnsafeMutablePointer<Double>
        let perLevel: Int
        /// The largest point count, which lays out each level's scratch.
        let maxPoints: Int
        let one: UnsafeMutablePointer<Double>
        let zero: UnsafeMutablePointer<Double>
        let level: UnsafeMutablePointer<Double>
        /// The output the current tree feeds, or -1 when its leaves hold every output.
        let output: Int

        /// The path product `Π (o_j t + z_j (1 − t))` at each point, for the node at `depth`.
        @inline(__always) func product(_ depth: Int) -> UnsafeMutablePointer<Double> { scratch + depth * perLevel }
        /// The sums `Σ v · product` over the leaves under the node at `depth`, per point and output.
        @inline(__always) func sums(_ depth: Int) -> UnsafeMutablePointer<Double> {
            scratch + depth * perLevel + maxPoints
        }
        /// The part of `sums` already attributed at a deeper split on the same feature.
        @inline(__always) func deeper(_ depth: Int) -> UnsafeMutablePointer<Double> {
            scratch + depth * perLevel + maxPoints * (1 + outputs)
        }
        /// 1 when `deeper(depth)` holds anything (it is filled, not cleared, on first use).
        @inline(__always) func deeperUsed(_ depth: Int) -> UnsafeMutablePointer<Double> {
            scratch + depth * perLevel + maxPoints * (1 + 2 * outputs)
        }
        /// `1 / factor` at each point for the split into the node at `depth`, then `1 / replaced`.
        @inline(__always) func inverses(_ depth: Int) -> UnsafeMutablePointer<Double> {
            scratch + depth * perLevel + maxPoints * (1 + 2 * outputs) + 1
        }

        /// Fills `sums(depth)` for the node at `depth` (its `product(depth)` already set) and
        /// adds the contributions of the splits in its subtree.
        func visit(_ index: Int, depth: Int) {
            let n = points.count
            let width = n * outputs
            let sums = sums(depth)
            let product = product(depth)
            let node = nodes[index]
            if node.feature < 0 {
                let leaf = Int(node.child)
                for k in 0..<n {
                    if output < 0 {
                        for o in 0..<outputs { sums[k * outputs + o] = product[k] * values[leaf * leafWidth + o] }
                    } else {
                        for o in 0..<outputs { sums[k * outputs + o] = 0 }
                        sums[k * outputs + output] = product[k] * values[leaf]
                    }
                }
                return
            }
            for j in 0..<width { sums[j] = 0 }
            let feature = Int(node.feature)
            let x = row[feature]
            let left = Int(node.child)
            let hot = (x.isNaN ? missingLeft[index] : x <= node.threshold) ? left : left + 1
            let cover = covers[index]
            // The feature's factor on the path above (1, 1 when it is not there yet).
            let previousLevel = level[feature]
            let previousOne = previousLevel < 0 ? 1 : one[feature]
            let previousZero = previousLevel < 0 ? 1 : zero[feature]
            let child = depth + 1
            let childProduct = self.product(child)
            let childSums = self.sums(child)
            let childDeeper = self.deeper(child)
            let childDeeperUsed = self.deeperUsed(child)
            let inverse = self.inverses(child)
            let inverseReplaced = inverse + n
            // Dividing out the factor the feature had above: its inverse once for both sides
            // (divisions were a fifth of the forest's time).
            if previousLevel >= 0 {
                for k in 0..<n {
                    inverseReplaced[k] = 1 / (previousZero + (previousOne - previousZero) * points[k])
                }
            }
            for side in 0..<2 {
                let next = left + side
                let newOne = next == hot ? previousOne : 0
                // A subtree no training row reached (possible with an ONNX model trained on other
                // data than the run's split) has share 0, not 0/0.
                let newZero = cover > 0 ? previousZero * covers[next] / cover : 0
                // A side no training row reached and this row does not take adds nothing.
                if newOne == 0 && newZero == 0 { continue }
                for k in 0..<n {
                    let factor = newZero + (newOne - newZero) * points[k]
                    inverse[k] = 1 / factor
                    childProduct[k] =
                        previousLevel < 0 ? product[k] * factor : product[k] * factor * inverseReplaced[k]
                }
                childDeeperUsed.pointee = 0
                one[feature] = newOne
                zero[feature] = newZero
                level[feature] = Double(child)
                visit(next, depth: child)
                // This split's share: (o − z) ∫ Σ_leaves v · product / factor, over the leaves whose
                // last split on the feature it is.
                let sign = newOne - newZero
                let repeated = childDeeperUsed.pointee != 0
                if outputs == 1 {
                    var share = 0.0
                    for k in 0..<n {
                        share += weights[k] * inverse[k] * (childSums[k] - (repeated ? childDeeper[k] : 0))
                    }
                    phi[feature] += sign * share
                } else {
                    for k in 0..<n {
                        let w = sign * weights[k] * inverse[k]
                        for o in 0..<outputs {
                            let own = childSums[k * outputs + o] - (repeated ? childDeeper[k * outputs + o] : 0)
                            phi[feature * outputs + o] += w * own
                        }
                    }
                }
                for j in 0..<width { sums[j] += childSums[j] }
                if previousLevel >= 0 {
                    // Counted here: the split above on the same feature must not count it again.
                    let above = self.deeper(Int(previousLevel))
                    let aboveUsed = self.deeperUsed(Int(previousLevel))
                    if aboveUsed.pointee == 0 {
                        for j in 0..<width { above[j] = childSums[j] }
                        aboveUsed.pointee = 1
                    } else {
                        for j in 0..<width { above[j] += childSums[j] }
                    }
                }
            }
            one[feature] = previousOne
            zero[feature] = previousZero
            level[feature] = previousLevel
        }
    }
}
