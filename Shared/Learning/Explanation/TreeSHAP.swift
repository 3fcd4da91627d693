/// Exact Shapley values of a tree ensemble's raw outputs: path-dependent TreeSHAP
/// (Lundberg, Erion, Lee, "Consistent Individualized Feature Attribution for Tree
/// Ensembles", Algorithm 2), which weighs each path by the training rows that went
/// through it (the ensemble's `covers`). For every row, `expected + Σ contributions`
/// equals the raw output (before the link) up to rounding.
///
/// Written against the paper and checked against the `shap` package's `TreeExplainer`
/// to 1e-9 (Tests/LearningTests/TreeSHAPOracleTests.swift). One path buffer per call,
/// no other allocation; a row costs O(trees · leaves · depth²).
struct TreeSHAP: Sendable {
    let ensemble: TreeEnsemble
    /// The raw output an input with nothing known gets, per output: the cover-weighted
    /// mean of the leaves, combined as the trees are (with the boosting base).
    let expected: [Double]
    /// The deepest leaf's depth over all trees (root = 0), for the path buffer's size.
    let maxDepth: Int

    /// Nil when the trees carry no covers (saved before explanations).
    init?(_ ensemble: TreeEnsemble) {
        guard ensemble.covers.count == ensemble.nodes.count, !ensemble.nodes.isEmpty else { return nil }
        self.ensemble = ensemble
        var expected = [Double](repeating: 0, count: ensemble.outputs)
        var deepest = 0
        for (tree, root) in ensemble.roots.enumerated() {
            var stack: [(node: Int, depth: Int)] = [(Int(root), 0)]
            let rootCover = ensemble.covers[Int(root)]
            while let (index, depth) = stack.popLast() {
                let node = ensemble.nodes[index]
                if node.feature >= 0 {
                    stack.append((Int(node.child), depth + 1))
                    stack.append((Int(node.child) + 1, depth + 1))
                    continue
                }
                deepest = max(deepest, depth)
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
    }

    /// One element of a decision path: the feature split on, the fraction of "zero"
    /// paths (the feature unknown: the cover's share) and of "one" paths (known: 1 when
    /// the row goes this way, else 0), and the permutation weight.
    struct PathElement {
        var feature: Int32
        var zeroFraction: Double
        var oneFraction: Double
        var weight: Double
    }

    /// Adds the contributions of `row` (encoded, NaN for missing) to `phi`, laid out
    /// `phi[column * outputs + output]` over the ensemble's input columns.
    func addContributions(_ row: UnsafeBufferPointer<Double>, into phi: UnsafeMutableBufferPointer<Double>) {
        let outputs = ensemble.outputs
        let pathCapacity = (maxDepth + 2) * (maxDepth + 3) / 2
        let scale = ensemble.combine == .average ? 1 / Double(max(1, ensemble.treeCount)) : 1
        ensemble.nodes.withUnsafeBufferPointer { nodes in
            ensemble.covers.withUnsafeBufferPointer { covers in
                ensemble.missingLeft.withUnsafeBufferPointer { missingLeft in
                    ensemble.leafValues.withUnsafeBufferPointer { values in
                        withUnsafeTemporaryAllocation(of: PathElement.self, capacity: pathCapacity) { path in
                            var walk = Walk(
                                nodes: nodes, covers: covers, missingLeft: missingLeft, values: values, row: row,
                                phi: phi, outputs: outputs, leafWidth: ensemble.leafWidth, scale: scale, output: -1)
                            for (tree, root) in ensemble.roots.enumerated() {
                                walk.output = ensemble.leafWidth == outputs ? -1 : tree % outputs
                                walk.recurse(
                                    node: Int(root), path: path.baseAddress!, depth: 0, zeroFraction: 1,
                                    oneFraction: 1, feature: -1)
                            }
                        }
                    }
                }
            }
        }
    }

    /// One row's walk through one tree at a time.
    private struct Walk {
        let nodes: UnsafeBufferPointer<TreeNode>
        let covers: UnsafeBufferPointer<Double>
        let missingLeft: UnsafeBufferPointer<Bool>
        let values: UnsafeBufferPointer<Double>
        let row: UnsafeBufferPointer<Double>
        let phi: UnsafeMutableBufferPointer<Double>
        let outputs: Int
        let leafWidth: Int
        /// 1/trees for averaged ensembles, else 1.
        let scale: Double
        /// The output the current tree feeds, or -1 when its leaves hold every output.
        var output: Int

        /// The paper's RECURSE: `parent` holds `depth` elements of the path to this node.
        func recurse(
            node index: Int, path parent: UnsafeMutablePointer<PathElement>, depth: Int, zeroFraction: Double,
            oneFraction: Double, feature: Int32
        ) {
            // Each level works on its own copy of the path, right after its parent's.
            let path = parent + depth
            if depth > 0 { path.update(from: parent, count: depth) }
            extend(path, depth: depth, zeroFraction: zeroFraction, oneFraction: oneFraction, feature: feature)
            let node = nodes[index]
            if node.feature < 0 {
                let leaf = Int(node.child)
                guard depth > 0 else { return }
                for i in 1...depth {
                    let element = path[i]
                    let weight =
                        unwoundSum(path, depth: depth, index: i) * (element.oneFraction - element.zeroFraction) * scale
                    let column = Int(element.feature)
                    if output < 0 {
                        for k in 0..<outputs { phi[column * outputs + k] += weight * values[leaf * leafWidth + k] }
                    } else {
                        phi[column * outputs + output] += weight * values[leaf]
                    }
                }
                return
            }
            let x = row[Int(node.feature)]
            let left = Int(node.child)
            let goesLeft = x.isNaN ? missingLeft[index] : x <= node.threshold
            let hot = goesLeft ? left : left + 1
            let cold = goesLeft ? left + 1 : left
            let cover = covers[index]
            let hotZero = covers[hot] / cover
            let coldZero = covers[cold] / cover
            var incomingZero = 1.0
            var incomingOne = 1.0
            var depth = depth
            // A feature split on before is unwound from the path and redone here.
            var previous = 1
            while previous <= depth, path[previous].feature != node.feature { previous += 1 }
            if previous <= depth {
                incomingZero = path[previous].zeroFraction
                incomingOne = path[previous].oneFraction
                unwind(path, depth: depth, index: previous)
                depth -= 1
            }
            recurse(
                node: hot, path: path, depth: depth + 1, zeroFraction: hotZero * incomingZero,
                oneFraction: incomingOne, feature: node.feature)
            recurse(
                node: cold, path: path, depth: depth + 1, zeroFraction: coldZero * incomingZero, oneFraction: 0,
                feature: node.feature)
        }

        /// EXTEND: appends a split to the path and updates the permutation weights.
        @inline(__always)
        private func extend(
            _ path: UnsafeMutablePointer<PathElement>, depth: Int, zeroFraction: Double, oneFraction: Double,
            feature: Int32
        ) {
            path[depth] = PathElement(
                feature: feature, zeroFraction: zeroFraction, oneFraction: oneFraction, weight: depth == 0 ? 1 : 0)
            let total = Double(depth + 1)
            var i = depth - 1
            while i >= 0 {
                path[i + 1].weight += oneFraction * path[i].weight * Double(i + 1) / total
                path[i].weight = zeroFraction * path[i].weight * Double(depth - i) / total
                i -= 1
            }
        }

        /// UNWIND: removes element `index` from the path, undoing its extension.
        @inline(__always)
        private func unwind(_ path: UnsafeMutablePointer<PathElement>, depth: Int, index: Int) {
            let one = path[index].oneFraction
            let zero = path[index].zeroFraction
            var next = path[depth].weight
            let total = Double(depth + 1)
            var i = depth - 1
            while i >= 0 {
                if one != 0 {
                    let kept = path[i].weight
                    path[i].weight = next * total / (Double(i + 1) * one)
                    next = kept - path[i].weight * zero * Double(depth - i) / total
                } else {
                    path[i].weight = path[i].weight * total / (zero * Double(depth - i))
                }
                i -= 1
            }
            for j in index..<depth {
                path[j].feature = path[j + 1].feature
                path[j].zeroFraction = path[j + 1].zeroFraction
                path[j].oneFraction = path[j + 1].oneFraction
            }
        }

        /// The total permutation weight the path would have with element `index` unwound.
        @inline(__always)
        private func unwoundSum(_ path: UnsafeMutablePointer<PathElement>, depth: Int, index: Int) -> Double {
            let one = path[index].oneFraction
            let zero = path[index].zeroFraction
            var next = path[depth].weight
            var total = 0.0
            var i = depth - 1
            if one != 0 {
                while i >= 0 {
                    let share = next / (Double(i + 1) * one)
                    total += share
                    next = path[i].weight - share * zero * Double(depth - i)
                    i -= 1
                }
            } else {
                while i >= 0 {
                    total += path[i].weight / (zero * Double(depth - i))
                    i -= 1
                }
            }
            return total * Double(depth + 1)
        }
    }
}
