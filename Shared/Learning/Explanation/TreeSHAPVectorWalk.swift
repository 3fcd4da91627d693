/// `TreeSHAP`'s depth-first pass for one output and at most eight quadrature points (trees
/// up to depth 16), with the points as the lanes of one `SIMD8<Double>`: the path product, a
/// subtree's leaf sums and the shares are vector operations, and each node's sums come back as
/// the recursion's value instead of through scratch memory. The same arithmetic as the scalar
/// pass (unused lanes have weight 0 and a point of 0.5, so they stay finite and add nothing).
/// Measured on Benchmarks/explain.sh's 100-tree depth-12 forest: see `TreeSHAP`'s note.
struct TreeSHAPVectorWalk {
    let nodes: UnsafeBufferPointer<TreeNode>
    let covers: UnsafeBufferPointer<Double>
    let missingLeft: UnsafeBufferPointer<Bool>
    let values: UnsafeBufferPointer<Double>
    let row: UnsafeBufferPointer<Double>
    let phi: UnsafeMutableBufferPointer<Double>
    let points: SIMD8<Double>
    let weights: SIMD8<Double>
    /// Per level: the sums already counted at a deeper split on the same feature.
    let deeper: UnsafeMutablePointer<SIMD8<Double>>
    /// Per level: whether `deeper` holds anything (filled, not cleared, on first use).
    let deeperUsed: UnsafeMutablePointer<Bool>
    /// Per column: the merged one and zero fractions on the current path, and the level of its
    /// latest split there (-1: not on the path).
    let one: UnsafeMutablePointer<Double>
    let zero: UnsafeMutablePointer<Double>
    let level: UnsafeMutablePointer<Int>

    /// The lanes of an n-point rule: unused lanes get point 0.5 and weight 0.
    static func lanes(_ rule: (points: [Double], weights: [Double])) -> (SIMD8<Double>, SIMD8<Double>) {
        var points = SIMD8<Double>(repeating: 0.5)
        var weights = SIMD8<Double>()
        for k in rule.points.indices {
            points[k] = rule.points[k]
            weights[k] = rule.weights[k]
        }
        return (points, weights)
    }

    /// Adds the contributions of the splits under the node at `index` (reached with path
    /// `product` at `depth`) and returns `Σ v · product` over its leaves at each point.
    func visit(_ index: Int, product: SIMD8<Double>, depth: Int) -> SIMD8<Double> {
        let node = nodes[index]
        if node.feature < 0 { return product * values[Int(node.child)] }
        let feature = Int(node.feature)
        let x = row[feature]
        let left = Int(node.child)
        let hot = (x.isNaN ? missingLeft[index] : x <= node.threshold) ? left : left + 1
        let cover = covers[index]
        let previousLevel = level[feature]
        let previousOne = previousLevel < 0 ? 1 : one[feature]
        let previousZero = previousLevel < 0 ? 1 : zero[feature]
        let above =
            previousLevel < 0 ? product : product / (previousZero + (previousOne - previousZero) * points)
        let child = depth + 1
        var total = SIMD8<Double>()
        for next in left...(left + 1) {
            let newOne = next == hot ? previousOne : 0
            // No training row in the subtree: share 0, not 0/0.
            let newZero = cover > 0 ? previousZero * covers[next] / cover : 0
            if newOne == 0 && newZero == 0 { continue }
            let factor = newZero + (newOne - newZero) * points
            deeperUsed[child] = false
            one[feature] = newOne
            zero[feature] = newZero
            level[feature] = child
            let sums = visit(next, product: above * factor, depth: child)
            let own = deeperUsed[child] ? sums - deeper[child] : sums
            phi[feature] += (newOne - newZero) * (weights * own / factor).sum()
            total += sums
            if previousLevel >= 0 {
                // Counted here: the split above on the same feature must not count it again.
                deeper[previousLevel] = deeperUsed[previousLevel] ? deeper[previousLevel] + sums : sums
                deeperUsed[previousLevel] = true
            }
        }
        one[feature] = previousOne
        zero[feature] = previousZero
        level[feature] = previousLevel
        return total
    }
}
