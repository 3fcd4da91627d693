import Foundation

/// The transform ONNX's ML operators apply to scores.
enum PostTransform: Int, Sendable {
    case none = 0
    case softmax, logistic, softmaxZero, probit

    init(name: String?, label: String) throws {
        switch name ?? "NONE" {
        case "NONE": self = .none
        case "SOFTMAX": self = .softmax
        case "LOGISTIC": self = .logistic
        case "SOFTMAX_ZERO": self = .softmaxZero
        case "PROBIT": self = .probit
        default:
            throw ONNXError(
                "\(label): post_transform \"\(name ?? "")\" is not one of NONE, SOFTMAX, LOGISTIC, SOFTMAX_ZERO, PROBIT"
            )
        }
    }

    static func logistic<T: BinaryFloatingPoint & ElementaryFunctionsLike>(_ value: T) -> T {
        let v = 1 / (1 + T.expOf(-Swift.abs(value)))
        return value < 0 ? 1 - v : v
    }

    /// Winitzki's inverse error function, as onnxruntime computes probit.
    static func probit<T: BinaryFloatingPoint>(_ value: T) -> T {
        let x = Float(2 * value - 1)
        let sign: Float = x < 0 ? -1 : 1
        let y = (1 - x) * (1 + x)
        let logY = Foundation.log(y)
        let v = 2 / (3.14159 * 0.147) + 0.5 * logY
        let v2 = 1 / 0.147 * logY
        return T(Float(2).squareRoot() * sign * (-v + (v * v - v2).squareRoot()).squareRoot())
    }

    /// Applies the transform in place to one row of scores.
    func apply<T: BinaryFloatingPoint & ElementaryFunctionsLike>(_ scores: UnsafeMutableBufferPointer<T>) {
        switch self {
        case .none: break
        case .logistic: for i in scores.indices { scores[i] = Self.logistic(scores[i]) }
        case .probit: for i in scores.indices { scores[i] = Self.probit(scores[i]) }
        case .softmax:
            let high = scores.max() ?? 0
            var sum: T = 0
            for i in scores.indices {
                scores[i] = T.expOf(scores[i] - high)
                sum += scores[i]
            }
            for i in scores.indices { scores[i] /= sum }
        case .softmaxZero:
            let high = scores.max() ?? 0
            let shift = T.expOf(-high)
            var sum: T = 0
            for i in scores.indices {
                if scores[i] > 0.0000001 || scores[i] < -0.0000001 {
                    scores[i] = T.expOf(scores[i] - high)
                    sum += scores[i]
                } else {
                    scores[i] *= shift
                }
            }
            for i in scores.indices { scores[i] /= sum }
        }
    }
}

/// Node tests, in ONNX's numbering for TreeEnsemble (opset 5).
enum NodeMode: UInt8, Sendable {
    case lessOrEqual = 0
    case less, greaterOrEqual, greater, equal, notEqual, member
    case leaf = 255

    init(name: String, label: String) throws {
        switch name {
        case "BRANCH_LEQ": self = .lessOrEqual
        case "BRANCH_LT": self = .less
        case "BRANCH_GTE": self = .greaterOrEqual
        case "BRANCH_GT": self = .greater
        case "BRANCH_EQ": self = .equal
        case "BRANCH_NEQ": self = .notEqual
        case "LEAF": self = .leaf
        default: throw ONNXError("\(label): node mode \"\(name)\" is not supported")
        }
    }
}

/// Trees flattened into arrays for evaluation: one walk per tree and row,
/// no allocation per row. Scores are accumulated in `T` (float for float
/// models, as onnxruntime does).
struct CompiledTrees<T: BinaryFloatingPoint & ElementaryFunctionsLike & Sendable>: Sendable {
    enum Aggregate: Sendable { case sum, average, min, max }

    var feature: [Int32] = []
    var threshold: [Double] = []
    var mode: [NodeMode] = []
    var trueNext: [Int32] = []
    var falseNext: [Int32] = []
    var missingTrue: [Bool] = []
    /// Members of each MEMBER node's set (TreeEnsemble opset 5).
    var members: [Int32: Set<Double>] = [:]
    /// Leaf weights: node → range in `leafTargets`/`leafWeights`.
    var leafStart: [Int32] = []
    var leafEnd: [Int32] = []
    var leafTargets: [Int32] = []
    var leafWeights: [T] = []
    var roots: [Int32] = []
    var targets = 1
    var aggregate = Aggregate.sum
    var largestFeature = -1

    /// The nodes packed for the walk (filled by `pack()`): one 24-byte record
    /// per node instead of six arrays, read through one pointer.
    var packed: [PackedNode] = []

    /// One node as the walk reads it.
    struct PackedNode: Sendable {
        var threshold: Double
        var feature: Int32
        var trueNext: Int32
        var falseNext: Int32
        var mode: UInt8
        var missingTrue: Bool
        /// For a leaf: its range in `leafTargets`/`leafWeights` (in `trueNext`/`falseNext`).
        var isLeaf: Bool { mode == NodeMode.leaf.rawValue }
    }

    /// Builds `packed` from the per-field arrays; called once the trees are
    /// complete. Each tree is laid out depth first, true child next to its
    /// parent, so a walk reads mostly neighbouring memory (trees of a large
    /// forest do not fit in cache; measured with Benchmarks/onnx.sh).
    mutating func pack() {
        var order: [Int] = []
        var newIndex = [Int32](repeating: -1, count: mode.count)
        for root in roots {
            var stack = [Int(root)]
            while let node = stack.popLast() {
                guard newIndex[node] < 0 else { continue }
                newIndex[node] = Int32(order.count)
                order.append(node)
                if mode[node] != .leaf {
                    stack.append(Int(falseNext[node]))
                    stack.append(Int(trueNext[node]))
                }
            }
        }
        packed = order.map { node in
            mode[node] == .leaf
                ? PackedNode(
                    threshold: 0, feature: 0, trueNext: leafStart[node], falseNext: leafEnd[node],
                    mode: NodeMode.leaf.rawValue, missingTrue: false)
                : PackedNode(
                    threshold: threshold[node], feature: feature[node], trueNext: newIndex[Int(trueNext[node])],
                    falseNext: newIndex[Int(falseNext[node])], mode: mode[node].rawValue,
                    missingTrue: missingTrue[node])
        }
        members = Dictionary(uniqueKeysWithValues: members.map { (newIndex[Int($0.key)], $0.value) })
        roots = roots.map { newIndex[Int($0)] }
    }

    /// The test of a node other than `<=`, as onnxruntime makes it: the
    /// comparison, or true for a missing value when the node sends missing values that way.
    func test(_ node: PackedNode, index: Int, x: Double) -> Bool {
        let t = node.threshold
        let compared: Bool
        switch NodeMode(rawValue: node.mode) ?? .leaf {
        case .lessOrEqual: compared = x <= t
        case .less: compared = x < t
        case .greaterOrEqual: compared = x >= t
        case .greater: compared = x > t
        case .equal: compared = x == t
        case .notEqual: compared = x != t
        case .member: compared = members[Int32(index)]?.contains(x) ?? false
        case .leaf: compared = false
        }
        return compared || (node.missingTrue && x.isNaN)
    }

    /// The leaf a row reaches from `root`.
    @inline(__always)
    func leaf(from root: Int32, nodes: UnsafePointer<PackedNode>, row: UnsafePointer<Double>) -> PackedNode {
        var index = Int(root)
        while true {
            let node = nodes[index]
            if node.isLeaf { return node }
            let x = row[Int(node.feature)]
            let goTrue =
                node.mode == 0 ? (x <= node.threshold || (node.missingTrue && x.isNaN)) : test(node, index: index, x: x)
            index = Int(goTrue ? node.trueNext : node.falseNext)
        }
    }

    /// Raw scores of `count` rows of `columns` values, tree by tree so each
    /// tree stays in cache while every row walks it; `scores` and `hasScore`
    /// are `count × targets`.
    func scores(
        rows: UnsafeBufferPointer<Double>, count: Int, columns: Int, into scores: UnsafeMutableBufferPointer<T>,
        hasScore: UnsafeMutableBufferPointer<Bool>
    ) {
        for index in scores.indices {
            scores[index] = 0
            hasScore[index] = false
        }
        guard let rowBase = rows.baseAddress else { return }
        packed.withUnsafeBufferPointer { nodes in
            leafTargets.withUnsafeBufferPointer { leafTargets in
                leafWeights.withUnsafeBufferPointer { leafWeights in
                    guard let nodes = nodes.baseAddress else { return }
                    for root in roots {
                        for row in 0..<count {
                            let leaf = leaf(from: root, nodes: nodes, row: rowBase + row * columns)
                            let base = row * targets
                            for w in Int(leaf.trueNext)..<Int(leaf.falseNext) {
                                let target = base + Int(leafTargets[w])
                                let weight = leafWeights[w]
                                switch aggregate {
                                case .sum, .average: scores[target] += weight
                                case .min:
                                    scores[target] = hasScore[target] ? Swift.min(scores[target], weight) : weight
                                case .max:
                                    scores[target] = hasScore[target] ? Swift.max(scores[target], weight) : weight
                                }
                                hasScore[target] = true
                            }
                        }
                    }
                }
            }
        }
        if aggregate == .average {
            let trees = T(roots.count)
            for index in scores.indices { scores[index] /= trees }
        }
    }
}

/// A node's identity in the opset 1/3 attribute lists.
private struct TreeNodeKey: Hashable {
    let tree: Int64
    let node: Int64
}

/// Builds `CompiledTrees` from the opset 1/3 attribute lists (nodes_* plus target_* or class_*).
struct TreeAttributes {
    let treeIDs: [Int64]
    let nodeIDs: [Int64]
    let featureIDs: [Int64]
    let modes: [String]
    let values: [Double]
    let trueIDs: [Int64]
    let falseIDs: [Int64]
    let missingTrue: [Int64]
    let weightTreeIDs: [Int64]
    let weightNodeIDs: [Int64]
    let weightTargets: [Int64]
    let weights: [Double]

    func compile<T: BinaryFloatingPoint & ElementaryFunctionsLike & Sendable>(
        targets: Int, aggregate: CompiledTrees<T>.Aggregate, label: String
    ) throws -> CompiledTrees<T> {
        let count = nodeIDs.count
        for (name, list) in [
            ("nodes_treeids", treeIDs.count), ("nodes_featureids", featureIDs.count), ("nodes_modes", modes.count),
            ("nodes_values", values.count), ("nodes_truenodeids", trueIDs.count),
            ("nodes_falsenodeids", falseIDs.count),
        ] where list != count {
            throw ONNXError("\(label): \(name) has \(list) entries, nodes_nodeids \(count)")
        }
        guard missingTrue.isEmpty || missingTrue.count == count else {
            throw ONNXError(
                "\(label): nodes_missing_value_tracks_true has \(missingTrue.count) entries, nodes_nodeids \(count)")
        }
        guard weightNodeIDs.count == weightTreeIDs.count, weightTargets.count == weightNodeIDs.count,
            weights.count == weightNodeIDs.count
        else { throw ONNXError("\(label): the leaf weight lists differ in length") }
        var index: [TreeNodeKey: Int] = [:]
        for i in 0..<count {
            guard index.updateValue(i, forKey: TreeNodeKey(tree: treeIDs[i], node: nodeIDs[i])) == nil else {
                throw ONNXError("\(label): node \(nodeIDs[i]) of tree \(treeIDs[i]) is listed twice")
            }
        }
        var trees = CompiledTrees<T>()
        trees.targets = targets
        trees.aggregate = aggregate
        trees.feature = featureIDs.map { Int32(clamping: $0) }
        trees.threshold = values
        trees.mode = try modes.map { try NodeMode(name: $0, label: label) }
        trees.missingTrue = missingTrue.isEmpty ? Array(repeating: false, count: count) : missingTrue.map { $0 != 0 }
        trees.trueNext = Array(repeating: -1, count: count)
        trees.falseNext = Array(repeating: -1, count: count)
        var isChild = Array(repeating: false, count: count)
        for i in 0..<count where trees.mode[i] != .leaf {
            guard featureIDs[i] >= 0 else { throw ONNXError("\(label): node \(nodeIDs[i]) has a negative feature id") }
            trees.largestFeature = max(trees.largestFeature, Int(featureIDs[i]))
            guard let t = index[TreeNodeKey(tree: treeIDs[i], node: trueIDs[i])],
                let f = index[TreeNodeKey(tree: treeIDs[i], node: falseIDs[i])]
            else { throw ONNXError("\(label): node \(nodeIDs[i]) of tree \(treeIDs[i]) points to a missing node") }
            trees.trueNext[i] = Int32(t)
            trees.falseNext[i] = Int32(f)
            isChild[t] = true
            isChild[f] = true
        }
        var byNode: [[(Int32, T)]] = Array(repeating: [], count: count)
        for w in weights.indices {
            guard let node = index[TreeNodeKey(tree: weightTreeIDs[w], node: weightNodeIDs[w])] else {
                throw ONNXError(
                    "\(label): a weight names node \(weightNodeIDs[w]) of tree \(weightTreeIDs[w]), which does not exist"
                )
            }
            guard weightTargets[w] >= 0, weightTargets[w] < targets else {
                throw ONNXError("\(label): target or class id \(weightTargets[w]) is out of range (\(targets))")
            }
            byNode[node].append((Int32(weightTargets[w]), T(weights[w])))
        }
        for node in 0..<count {
            trees.leafStart.append(Int32(trees.leafTargets.count))
            for (target, weight) in byNode[node] {
                trees.leafTargets.append(target)
                trees.leafWeights.append(weight)
            }
            trees.leafEnd.append(Int32(trees.leafTargets.count))
        }
        var seenTrees = Set<Int64>()
        for i in 0..<count where !isChild[i] && seenTrees.insert(treeIDs[i]).inserted {
            trees.roots.append(Int32(i))
        }
        try Self.checkAcyclic(trees, label: label)
        trees.pack()
        return trees
    }

    /// Every walk ends at a leaf: no node is reachable from itself.
    static func checkAcyclic<T>(_ trees: CompiledTrees<T>, label: String) throws {
        var state = [UInt8](repeating: 0, count: trees.mode.count)
        for root in trees.roots {
            var stack = [(Int(root), false)]
            while let (node, done) = stack.popLast() {
                if done {
                    state[node] = 2
                    continue
                }
                if state[node] == 2 { continue }
                guard state[node] == 0 else {
                    throw ONNXError("\(label): the trees contain a cycle at node index \(node)")
                }
                state[node] = 1
                stack.append((node, true))
                if trees.mode[node] != .leaf {
                    for next in [trees.trueNext[node], trees.falseNext[node]] {
                        if state[Int(next)] == 1 {
                            throw ONNXError("\(label): the trees contain a cycle at node index \(next)")
                        }
                        stack.append((Int(next), false))
                    }
                }
            }
        }
    }
}
