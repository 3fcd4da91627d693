import Foundation

/// TreeEnsemble (ai.onnx.ml opset 5): nodes and leaves in separate arrays.
struct EnsembleV5 {
    let roots: [Int64]
    let features: [Int64]
    let splits: [Double]
    let modes: [UInt8]
    let trueIDs: [Int64]
    let trueLeafs: [Int64]
    let falseIDs: [Int64]
    let falseLeafs: [Int64]
    let missingTrue: [Int64]
    let membership: [Double]
    let leafTargets: [Int64]
    let leafWeights: [Double]

    init(_ spec: NodeSpec) throws {
        roots = spec.int64s("tree_roots") ?? []
        features = spec.int64s("nodes_featureids") ?? []
        splits = try spec.tensor("nodes_splits")?.doubles ?? []
        guard let modesAttribute = spec.attributes["nodes_modes"] else { throw spec.error("nodes_modes is required") }
        let t = modesAttribute.t
        modes = t.rawData.isEmpty ? t.int32Data.map { UInt8(truncatingIfNeeded: $0) } : Array(t.rawData)
        trueIDs = spec.int64s("nodes_truenodeids") ?? []
        trueLeafs = spec.int64s("nodes_trueleafs") ?? []
        falseIDs = spec.int64s("nodes_falsenodeids") ?? []
        falseLeafs = spec.int64s("nodes_falseleafs") ?? []
        missingTrue = spec.int64s("nodes_missing_value_tracks_true") ?? []
        membership = try spec.tensor("membership_values")?.doubles ?? []
        leafTargets = spec.int64s("leaf_targetids") ?? []
        leafWeights = try spec.tensor("leaf_weights")?.doubles ?? []
        let count = features.count
        for (name, list) in [
            ("nodes_splits", splits.count), ("nodes_modes", modes.count), ("nodes_truenodeids", trueIDs.count),
            ("nodes_trueleafs", trueLeafs.count), ("nodes_falsenodeids", falseIDs.count),
            ("nodes_falseleafs", falseLeafs.count),
        ] where list != count {
            throw spec.error("\(name) has \(list) entries, nodes_featureids \(count)")
        }
        guard leafTargets.count == leafWeights.count else {
            throw spec.error("leaf_targetids and leaf_weights differ in length")
        }
    }

    /// Nodes first, then one node per leaf.
    func compile<T: BinaryFloatingPoint & ElementaryFunctionsLike & Sendable>(
        targets: Int, aggregate: CompiledTrees<T>.Aggregate, label: String
    ) throws -> CompiledTrees<T> {
        var trees = CompiledTrees<T>()
        trees.targets = targets
        trees.aggregate = aggregate
        let nodes = features.count
        let leaves = leafWeights.count
        func child(_ id: Int64, leaf: Bool) throws -> Int32 {
            let index = leaf ? nodes + Int(id) : Int(id)
            guard id >= 0, leaf ? Int(id) < leaves : Int(id) < nodes else {
                throw ONNXError("\(label): child \(id) is out of range")
            }
            return Int32(index)
        }
        var memberSets = membership.split(whereSeparator: \.isNaN).map { Set($0) }.makeIterator()
        for i in 0..<nodes {
            guard let mode = NodeMode(rawValue: modes[i]), mode != .leaf else {
                throw ONNXError("\(label): node mode \(modes[i]) is not 0 to 6")
            }
            trees.mode.append(mode)
            trees.feature.append(Int32(clamping: features[i]))
            trees.largestFeature = max(trees.largestFeature, Int(features[i]))
            trees.threshold.append(splits[i])
            trees.trueNext.append(try child(trueIDs[i], leaf: trueLeafs[i] != 0))
            trees.falseNext.append(try child(falseIDs[i], leaf: falseLeafs[i] != 0))
            trees.missingTrue.append(i < missingTrue.count && missingTrue[i] != 0)
            if mode == .member { trees.members[Int32(i)] = memberSets.next() ?? [] }
            trees.leafStart.append(0)
            trees.leafEnd.append(0)
        }
        for leaf in 0..<leaves {
            guard leafTargets[leaf] >= 0, leafTargets[leaf] < targets else {
                throw ONNXError("\(label): leaf target \(leafTargets[leaf]) is out of range")
            }
            trees.mode.append(.leaf)
            trees.feature.append(0)
            trees.threshold.append(0)
            trees.trueNext.append(-1)
            trees.falseNext.append(-1)
            trees.missingTrue.append(false)
            trees.leafStart.append(Int32(trees.leafTargets.count))
            trees.leafTargets.append(Int32(leafTargets[leaf]))
            trees.leafWeights.append(T(leafWeights[leaf]))
            trees.leafEnd.append(Int32(trees.leafTargets.count))
        }
        trees.roots = try roots.map { root in
            guard root >= 0, Int(root) < nodes else { throw ONNXError("\(label): tree root \(root) is out of range") }
            return Int32(root)
        }
        try TreeAttributes.checkAcyclic(trees, label: label)
        trees.pack()
        return trees
    }
}
