/// Precomputed explanations for shallow trees (in the spirit of Fast TreeSHAP v2, Yang
/// 2021): a leaf's share of each feature depends on the row only through which of its path's
/// unique features the row follows (all of that feature's splits on the path), so for each
/// leaf and each of those 2^d patterns the d shares are computed once, at load, with the same
/// quadrature as `TreeSHAP`. Explaining a row is then one pass over the tree computing each
/// leaf's pattern, and d table reads per leaf. Trees whose tables would be too large (deep
/// forests) are left to `TreeSHAP`'s pass; the budget bounds the memory (8 bytes an entry).
struct TreeSHAPTables: Sendable {
    /// Per node of a tabled tree: the bit of its feature in the path's pattern, and whether
    /// the feature first appears on the path there (else the bit is narrowed).
    private var bit: [Int8]
    private var first: [Bool]
    /// Per leaf node of a tabled tree: where its entries start, its path's unique features
    /// (how many, and where their columns are listed).
    private var tableStart: [Int]
    private var pathFeatures: [Int8]
    private var featureStart: [Int32]
    private var columns: [Int32] = []
    private var entries: [Double] = []
    /// Per tree: whether it has tables.
    let tabled: [Bool]
    /// Values per entry: the outputs when leaves hold every output, else 1.
    let width: Int

    /// The largest table a tree may have, and all trees together (entries).
    static let treeBudget = 1 << 18
    static let ensembleBudget = 1 << 22

    /// `budget` overrides `ensembleBudget` (0: no tables).
    init(_ ensemble: TreeEnsemble, quadratures: [(points: [Double], weights: [Double])], budget: Int? = nil) {
        let ensembleBudget = budget ?? Self.ensembleBudget
        let nodeCount = ensemble.nodes.count
        bit = [Int8](repeating: 0, count: nodeCount)
        first = [Bool](repeating: false, count: nodeCount)
        tableStart = [Int](repeating: 0, count: nodeCount)
        pathFeatures = [Int8](repeating: 0, count: nodeCount)
        featureStart = [Int32](repeating: 0, count: nodeCount)
        let width = ensemble.leafWidth == ensemble.outputs ? ensemble.outputs : 1
        self.width = width
        let scale = ensemble.combine == .average ? 1 / Double(max(1, ensemble.treeCount)) : 1
        var tabled = [Bool](repeating: false, count: ensemble.treeCount)
        var total = 0
        for (tree, root) in ensemble.roots.enumerated() {
            // Each leaf's path: its unique features in order, and each one's merged zero fraction.
            var paths: [(leaf: Int, features: [Int32], zeros: [Double])] = []
            var layout: [(node: Int, bit: Int8, first: Bool)] = []
            var stack: [(node: Int, features: [Int32], zeros: [Double])] = [(Int(root), [], [])]
            while let (index, features, zeros) = stack.popLast() {
                let node = ensemble.nodes[index]
                guard node.feature >= 0 else {
                    paths.append((index, features, zeros))
                    continue
                }
                let position = features.firstIndex(of: node.feature)
                layout.append((index, Int8(position ?? features.count), position == nil))
                for child in [Int(node.child), Int(node.child) + 1] {
                    let share = ensemble.covers[index] > 0 ? ensemble.covers[child] / ensemble.covers[index] : 0
                    var (childFeatures, childZeros) = (features, zeros)
                    if let position {
                        childZeros[position] *= share
                    } else {
                        childFeatures.append(node.feature)
                        childZeros.append(share)
                    }
                    stack.append((child, childFeatures, childZeros))
                }
            }
            let size = paths.reduce(0) { $0 + (1 << $1.features.count) * $1.features.count * width }
            guard paths.allSatisfy({ $0.features.count <= 20 }), size <= Self.treeBudget,
                total + size <= ensembleBudget
            else { continue }
            total += size
            tabled[tree] = true
            for entry in layout {
                bit[entry.node] = entry.bit
                first[entry.node] = entry.first
            }
            for path in paths {
                let d = path.features.count
                tableStart[path.leaf] = entries.count
                pathFeatures[path.leaf] = Int8(d)
                featureStart[path.leaf] = Int32(columns.count)
                columns += path.features
                guard d > 0 else { continue }
                let leaf = Int(ensemble.nodes[path.leaf].child)
                let values =
                    width == 1
                    ? [ensemble.leafValues[leaf * ensemble.leafWidth] * scale]
                    : (0..<width).map { ensemble.leafValues[leaf * ensemble.leafWidth + $0] * scale }
                Self.fill(&entries, zeros: path.zeros, values: values, rule: quadratures[TreeSHAP.pointCount(depth: d)])
            }
        }
        self.tabled = tabled
    }

    /// Appends, for each pattern of the path's d features (bit i: the row follows feature i's
    /// splits), each feature's share `v (o_i − z_i) ∫ Π_{j≠i} (o_j t + z_j (1 − t)) dt`.
    private static func fill(
        _ entries: inout [Double], zeros: [Double], values: [Double], rule: (points: [Double], weights: [Double])
    ) {
        let d = zeros.count
        let n = rule.points.count
        var product = [Double](repeating: 0, count: n)
        for pattern in 0..<(1 << d) {
            for k in 0..<n {
                let t = rule.points[k]
                var g = 1.0
                for j in 0..<d { g *= (pattern >> j) & 1 == 1 ? t + zeros[j] * (1 - t) : zeros[j] * (1 - t) }
                product[k] = g
            }
            for i in 0..<d {
                let one = Double((pattern >> i) & 1)
                if one == 0 && zeros[i] == 0 {
                    // Neither the row nor any training row goes this way: no share (not 0/0).
                    for _ in values { entries.append(0) }
                    continue
                }
                var integral = 0.0
                for k in 0..<n {
                    let t = rule.points[k]
                    integral += rule.weights[k] * product[k] / (one * t + zeros[i] * (1 - t))
                }
                let share = (one - zeros[i]) * integral
                for value in values { entries.append(share * value) }
            }
        }
    }

    /// Adds tree `tree`'s contributions for `row` (its nodes from `root`) to `phi`, laid out
    /// `phi[column * outputs + output]`; `output` is the one the tree feeds when it feeds one.
    func add(
        root: Int, output: Int, outputs: Int, nodes: UnsafeBufferPointer<TreeNode>,
        missingLeft: UnsafeBufferPointer<Bool>, row: UnsafeBufferPointer<Double>,
        phi: UnsafeMutableBufferPointer<Double>
    ) {
        bit.withUnsafeBufferPointer { bit in
            first.withUnsafeBufferPointer { first in
                tableStart.withUnsafeBufferPointer { tableStart in
                    pathFeatures.withUnsafeBufferPointer { pathFeatures in
                        featureStart.withUnsafeBufferPointer { featureStart in
                            columns.withUnsafeBufferPointer { columns in
                                entries.withUnsafeBufferPointer { entries in
                                    let walk = Walk(
                                        nodes: nodes, missingLeft: missingLeft, row: row, phi: phi, bit: bit,
                                        first: first, tableStart: tableStart, pathFeatures: pathFeatures,
                                        featureStart: featureStart, columns: columns, entries: entries, width: width,
                                        outputs: outputs, output: output)
                                    walk.visit(root, pattern: 0)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    private struct Walk {
        let nodes: UnsafeBufferPointer<TreeNode>
        let missingLeft: UnsafeBufferPointer<Bool>
        let row: UnsafeBufferPointer<Double>
        let phi: UnsafeMutableBufferPointer<Double>
        let bit: UnsafeBufferPointer<Int8>
        let first: UnsafeBufferPointer<Bool>
        let tableStart: UnsafeBufferPointer<Int>
        let pathFeatures: UnsafeBufferPointer<Int8>
        let featureStart: UnsafeBufferPointer<Int32>
        let columns: UnsafeBufferPointer<Int32>
        let entries: UnsafeBufferPointer<Double>
        let width: Int
        let outputs: Int
        let output: Int

        func visit(_ index: Int, pattern: Int) {
            let node = nodes[index]
            if node.feature < 0 {
                let d = Int(pathFeatures[index])
                guard d > 0 else { return }
                var at = tableStart[index] + pattern * d * width
                let listed = Int(featureStart[index])
                for i in 0..<d {
                    let column = Int(columns[listed + i])
                    if width == 1 {
                        phi[column * outputs + max(output, 0)] += entries[at]
                    } else {
                        for o in 0..<width { phi[column * outputs + o] += entries[at + o] }
                    }
                    at += width
                }
                return
            }
            let x = row[Int(node.feature)]
            let left = Int(node.child)
            let hot = (x.isNaN ? missingLeft[index] : x <= node.threshold) ? left : left + 1
            let mask = 1 << Int(bit[index])
            let isFirst = first[index]
            // The hot child keeps (or sets) the feature's bit; the cold one clears it.
            visit(left, pattern: left == hot ? pattern | (isFirst ? mask : 0) : pattern & ~mask)
            visit(left + 1, pattern: left + 1 == hot ? pattern | (isFirst ? mask : 0) : pattern & ~mask)
        }
    }
}
