import Foundation
import ONNX

/// A repository's ONNX tree ensemble made explainable: its trees rebuilt as a `TreeEnsemble`
/// (children adjacent, each ONNX comparison mode turned into `x <= threshold`, missing values
/// to the side the node sends them), with the covers of the training split (computed when the
/// run trains: the file has none), TreeSHAP over them, and how the ensemble's columns and
/// scores map back to the manifest's features and Conveyor's outputs. Contributions are in
/// the ensemble's raw scores (before its post-transform): a regressor's value, a boosted
/// classifier's log-odds or per-class scores, a forest's probabilities.
struct ONNXTreeExplanation: Sendable {
    let predictor: ONNXPredictor
    let graph: ONNXTreeEnsemble
    /// The trees, with the predictor's covers when it has them.
    let trees: TreeEnsemble
    /// For each `trees` node, its index in the ONNX node attributes (covers are stored in that order).
    let attributeIndex: [Int]
    /// Per ensemble column, the manifest feature it comes from.
    let columnFeature: [Int]
    let outputs: OutputMap

    /// How the ensemble's scores become Conveyor's outputs (its features' order, its classes' order).
    enum OutputMap: Sendable {
        /// Output `k` is the ensemble's score `columns[k]`.
        case scores(columns: [Int])
        /// Two classes from one score, which belongs to `scored`: the other class gets `1 − score`
        /// (probabilities) or `−score` (log-odds).
        case single(scored: Int, complement: Bool)
    }

    static let unavailable = "onnx"

    /// Rebuilds the trees; throws saying why this graph cannot be explained exactly.
    init(_ predictor: ONNXPredictor) throws(ExplanationUnavailable) {
        self.predictor = predictor
        let graph: ONNXTreeEnsemble
        do {
            graph = try ONNXTreeEnsemble(serialized: predictor.data)
        } catch let error as ONNXError {
            throw ExplanationUnavailable(format: Self.unavailable, reason: error.message)
        } catch {
            throw ExplanationUnavailable(format: Self.unavailable, reason: "\(error)")
        }
        self.graph = graph
        columnFeature = try graph.sources.map { source throws(ExplanationUnavailable) in
            switch predictor.inputs {
            case .matrix: return source.column
            case .columns(let bound):
                guard let feature = bound.first(where: { $0.name == source.input })?.feature else {
                    throw ExplanationUnavailable(
                        format: Self.unavailable, reason: "graph input \"\(source.input)\" is not a feature")
                }
                return feature
            }
        }
        var (ensemble, index, outputs) = try Self.rebuild(graph, predictor: predictor)
        if let covers = predictor.covers, covers.count == graph.nodeIDs.count {
            ensemble.covers = index.map { covers[$0] }
        }
        trees = ensemble
        attributeIndex = index
        self.outputs = outputs
    }

    private static func refuse(_ reason: String) -> ExplanationUnavailable {
        ExplanationUnavailable(format: unavailable, reason: reason)
    }

    /// The ensemble as `TreeEnsemble` (covers left empty), each node's attribute index, and the output map.
    static func rebuild(_ graph: ONNXTreeEnsemble, predictor: ONNXPredictor) throws(ExplanationUnavailable) -> (
        TreeEnsemble, [Int], OutputMap
    ) {
        let classIDs = Set(graph.weightTargets)
        var width = graph.targets
        var outputs = OutputMap.scores(columns: [0])
        var combine = TreeEnsemble.Combine.sum
        var base = graph.base
        if graph.isClassifier {
            guard case .probabilities(_, let columns) = predictor.outputs, graph.targets == columns.count else {
                throw refuse("the classifier's classes do not match the model's probabilities")
            }
            if graph.targets == 2 && classIDs.count == 1 {
                width = 1
                switch graph.postTransform {
                case "NONE" where graph.weights.allSatisfy({ $0 >= 0 }) && graph.base.isEmpty:
                    outputs = .single(scored: columns.firstIndex(of: 1) ?? 1, complement: true)
                case "LOGISTIC" where graph.base.count <= 1:
                    outputs = .single(scored: columns.firstIndex(of: 1) ?? 1, complement: false)
                default:
                    throw refuse(
                        "a two-class ensemble with one score and post_transform \(graph.postTransform) has no raw score Conveyor can explain"
                    )
                }
                base = graph.base.isEmpty ? [0] : [graph.base[0]]
            } else {
                guard ["NONE", "SOFTMAX"].contains(graph.postTransform),
                    graph.base.isEmpty || graph.base.count == width,
                    graph.targets > 2 || graph.base.isEmpty
                else {
                    throw refuse("a classifier with post_transform \(graph.postTransform) is not explained")
                }
                outputs = .scores(columns: columns)
            }
        } else {
            guard graph.targets == 1, graph.postTransform == "NONE" else {
                throw refuse("only a one-target regressor without a post_transform is explained")
            }
            switch graph.aggregate {
            case "SUM": break
            case "AVERAGE" where graph.base.allSatisfy({ $0 == 0 }): combine = .average
            default: throw refuse("aggregate_function \(graph.aggregate) is not explained")
            }
        }
        if base.count != width { base = [Double](repeating: 0, count: width) }
        // Nodes by (tree, id), leaf weights by (tree, id).
        struct Key: Hashable {
            let tree: Int64
            let node: Int64
        }
        var position: [Key: Int] = [:]
        for index in graph.nodeIDs.indices {
            position[Key(tree: graph.treeIDs[index], node: graph.nodeIDs[index])] = index
        }
        var leafWeights: [Key: [Double]] = [:]
        for index in graph.weights.indices {
            let key = Key(tree: graph.weightTreeIDs[index], node: graph.weightNodeIDs[index])
            let target = width == 1 ? 0 : Int(graph.weightTargets[index])
            guard target >= 0, target < width else { throw refuse("a leaf weight names target \(target)") }
            leafWeights[key, default: [Double](repeating: 0, count: width)][target] += graph.weights[index]
        }
        var ensemble = TreeEnsemble(
            leafWidth: width, outputs: width, base: base, combine: combine, link: .identity)
        var attributeIndex: [Int] = []
        // Node indices by tree, in the order trees first appear (one pass: large models have millions).
        var treeOrder: [Int64] = []
        var treeNodes: [Int64: [Int]] = [:]
        for index in graph.nodeIDs.indices {
            let tree = graph.treeIDs[index]
            if treeNodes[tree] == nil { treeOrder.append(tree) }
            treeNodes[tree, default: []].append(index)
        }
        for tree in treeOrder {
            let indices = treeNodes[tree] ?? []
            let children = Set(
                indices.filter { graph.modes[$0] != "LEAF" }.flatMap { [graph.trueIDs[$0], graph.falseIDs[$0]] })
            guard let root = indices.first(where: { !children.contains(graph.nodeIDs[$0]) }) else {
                throw refuse("tree \(tree) has no root")
            }
            var visited: Set<Int> = [root]
            ensemble.roots.append(Int32(ensemble.nodes.count))
            // Breadth-first, so each node's two children can be placed side by side.
            var queue: [(attribute: Int, slot: Int, depth: Int)] = [(root, ensemble.nodes.count, 0)]
            ensemble.nodes.append(TreeNode(threshold: 0, feature: -1, child: 0))
            ensemble.missingLeft.append(false)
            attributeIndex.append(root)
            var head = 0
            while head < queue.count {
                let (attribute, slot, depth) = queue[head]
                head += 1
                let mode = graph.modes[attribute]
                if mode == "LEAF" {
                    let values =
                        leafWeights[Key(tree: tree, node: graph.nodeIDs[attribute])]
                        ?? [Double](repeating: 0, count: width)
                    ensemble.nodes[slot] = TreeNode(
                        threshold: 0, feature: -1, child: Int32(ensemble.leafValues.count / width))
                    ensemble.leafValues += values
                    continue
                }
                let threshold = graph.thresholds[attribute]
                let tracksTrue =
                    graph.missingTracksTrue.indices.contains(attribute) && graph.missingTracksTrue[attribute]
                // x <= t goes left: which ONNX branch is that, and at which threshold?
                let (left, right, cut, missingLeft): (Int64, Int64, Double, Bool)
                switch mode {
                case "BRANCH_LEQ":
                    (left, right, cut, missingLeft) = (
                        graph.trueIDs[attribute], graph.falseIDs[attribute], threshold, tracksTrue
                    )
                case "BRANCH_LT":
                    (left, right, cut, missingLeft) = (
                        graph.trueIDs[attribute], graph.falseIDs[attribute], threshold.nextDown, tracksTrue
                    )
                case "BRANCH_GT":
                    (left, right, cut, missingLeft) = (
                        graph.falseIDs[attribute], graph.trueIDs[attribute], threshold, !tracksTrue
                    )
                case "BRANCH_GTE":
                    (left, right, cut, missingLeft) = (
                        graph.falseIDs[attribute], graph.trueIDs[attribute], threshold.nextDown, !tracksTrue
                    )
                default: throw refuse("tree \(tree) has a \(mode) node; exact explanations need ordered splits")
                }
                guard let leftIndex = position[Key(tree: tree, node: left)],
                    let rightIndex = position[Key(tree: tree, node: right)]
                else { throw refuse("tree \(tree) names a child that does not exist") }
                // A node shared by two parents would get two covers in one slot; a chain deeper
                // than 64 splits would make the quadrature and the recursion unbounded.
                guard visited.insert(leftIndex).inserted, visited.insert(rightIndex).inserted else {
                    throw refuse("tree \(tree) reaches a node twice")
                }
                guard depth < 64 else { throw refuse("tree \(tree) is deeper than 64 splits") }
                let child = ensemble.nodes.count
                ensemble.nodes[slot] = TreeNode(
                    threshold: cut, feature: Int32(graph.featureIDs[attribute]), child: Int32(child))
                ensemble.missingLeft[slot] = missingLeft
                for index in [leftIndex, rightIndex] {
                    queue.append((index, ensemble.nodes.count, depth + 1))
                    ensemble.nodes.append(TreeNode(threshold: 0, feature: -1, child: 0))
                    ensemble.missingLeft.append(false)
                    attributeIndex.append(index)
                }
            }
        }
        return (ensemble, attributeIndex, outputs)
    }

    /// The ensemble's input rows for encoded rows (the graph runs up to the ensemble).
    func ensembleInputs(_ rows: [[Double]]) throws -> [[Double]] {
        let values = try predictor.model.evaluate(try predictor.feeds(rows), values: [graph.inputName])
        guard let tensor = values[0].tensor else { throw ONNXError("the ensemble's input is not a tensor") }
        let flat = tensor.doubles
        let width = flat.count / max(rows.count, 1)
        return (0..<rows.count).map { Array(flat[($0 * width)..<(($0 + 1) * width)]) }
    }

    /// Per ONNX node (attribute order), the training rows that pass through it. Throws unless
    /// the rebuilt trees reproduce the graph's own outputs on (the first 200 of) those rows to 1e-4.
    func covers(training rows: [[Double]]) throws -> [Double] {
        let inputs = try ensembleInputs(rows)
        var counts = [Double](repeating: 0, count: trees.nodes.count)
        for row in inputs {
            for root in trees.roots {
                var index = Int(root)
                while true {
                    counts[index] += 1
                    let node = trees.nodes[index]
                    if node.feature < 0 { break }
                    let x = row[Int(node.feature)]
                    index = Int(node.child) + (x <= node.threshold || (x.isNaN && trees.missingLeft[index]) ? 0 : 1)
                }
            }
        }
        var byAttribute = [Double](repeating: 0, count: graph.nodeIDs.count)
        for (node, attribute) in attributeIndex.enumerated() { byAttribute[attribute] = counts[node] }
        // The rebuilt trees must give the graph's own predictions, or the explanation would
        // explain some other model.
        let check = Array(inputs.prefix(200))
        let predicted = try predictor.predict(rows: Array(rows.prefix(200)))
        var raw = [Double](repeating: 0, count: trees.outputs)
        for (row, expected) in zip(check, predicted) {
            row.withUnsafeBufferPointer { row in raw.withUnsafeMutableBufferPointer { trees.rawOutputs(row, into: $0) }
            }
            let mine = conveyorOutputs(raw).map { linked($0, of: raw) }
            for (a, b) in zip(mine.isEmpty ? raw : mine, expected) where abs(a - b) > 1e-4 * max(1, abs(b)) {
                throw ONNXError(
                    "the rebuilt trees predict \(a) where the graph predicts \(b); this graph is not explained")
            }
        }
        return byAttribute
    }

    /// Conveyor's outputs' raw scores from the ensemble's.
    func conveyorOutputs(_ raw: [Double]) -> [Double] {
        switch outputs {
        case .scores(let columns): columns.map { raw[$0] }
        case .single(let scored, let complement):
            scored == 1
                ? [complement ? 1 - raw[0] : -raw[0], raw[0]] : [raw[0], complement ? 1 - raw[0] : -raw[0]]
        }
    }

    /// A raw score as the prediction (probability or value) the graph outputs.
    private func linked(_ value: Double, of raw: [Double]) -> Double {
        switch graph.postTransform {
        case "LOGISTIC": return 1 / (1 + exp(-value))
        case "SOFTMAX":
            let top = raw.max() ?? 0
            let total = raw.reduce(0) { $0 + exp($1 - top) }
            return exp(value - top) / total
        default: return value
        }
    }

    /// The explanation of encoded rows.
    func explain(_ row: [Double], shap: TreeSHAP, inputs: Int) throws -> Explanation {
        guard let input = try ensembleInputs([row]).first else { throw ONNXError("no ensemble input") }
        let width = trees.outputs
        var phi = [Double](repeating: 0, count: max(input.count, shap.columns) * width)
        input.withUnsafeBufferPointer { input in
            phi.withUnsafeMutableBufferPointer { shap.addContributions(input, into: $0) }
        }
        var parts = [[Double]](repeating: [Double](repeating: 0, count: inputs), count: width)
        for column in 0..<min(input.count, columnFeature.count) {
            for k in 0..<width { parts[k][columnFeature[column]] += phi[column * width + k] }
        }
        switch outputs {
        case .scores(let columns):
            return Explanation(baseValues: columns.map { shap.expected[$0] }, contributions: columns.map { parts[$0] })
        case .single(let scored, let complement):
            let other = Explanation(
                baseValues: [complement ? 1 - shap.expected[0] : -shap.expected[0]],
                contributions: [parts[0].map { -$0 }])
            let mine = Explanation(baseValues: [shap.expected[0]], contributions: [parts[0]])
            let (first, second) = scored == 1 ? (other, mine) : (mine, other)
            return Explanation(
                baseValues: first.baseValues + second.baseValues,
                contributions: first.contributions + second.contributions)
        }
    }
}
