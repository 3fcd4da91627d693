import JSON

/// A tree ensemble in the `shap` package's custom tree format (a dictionary of
/// `trees`, each with `children_left`, `children_right`, `children_default`,
/// `features`, `thresholds`, `values` per node × output, `node_sample_weight`, and the
/// model's `base_offset`), so `shap.TreeExplainer(model)` explains the very trees
/// Conveyor serves: the oracle of its tests and the peer of its benchmark.
public enum ShapTreeExport {
    /// The ensemble as shap's dictionary; averaged ensembles have their leaves pre-scaled
    /// by 1/trees, and infinite thresholds (a split of missing values only) become the
    /// largest finite number (JSON has no infinity; for finite inputs the split is the same).
    public static func model(_ ensemble: TreeEnsemble) -> JSONValue {
        let scale = ensemble.combine == .average ? 1 / Double(max(1, ensemble.treeCount)) : 1
        var trees: [JSONValue] = []
        for tree in 0..<ensemble.treeCount {
            let start = Int(ensemble.roots[tree])
            let end = tree + 1 < ensemble.treeCount ? Int(ensemble.roots[tree + 1]) : ensemble.nodes.count
            var columns: [String: [JSONValue]] = [:]
            func add(_ key: String, _ value: JSONValue) { columns[key, default: []].append(value) }
            for index in start..<end {
                let node = ensemble.nodes[index]
                add("node_sample_weight", .number(ensemble.covers.indices.contains(index) ? ensemble.covers[index] : 0))
                var value = [Double](repeating: 0, count: ensemble.outputs)
                if node.feature >= 0 {
                    let left = Double(Int(node.child) - start)
                    add("children_left", .number(left))
                    add("children_right", .number(left + 1))
                    add("children_default", .number(ensemble.missingLeft[index] ? left : left + 1))
                    add("features", .number(Double(node.feature)))
                    add(
                        "thresholds",
                        .number(min(max(node.threshold, -.greatestFiniteMagnitude), .greatestFiniteMagnitude)))
                } else {
                    for key in ["children_left", "children_right", "children_default", "features"] {
                        add(key, .number(-1))
                    }
                    add("thresholds", .number(0))
                    let leaf = Int(node.child)
                    if ensemble.leafWidth == ensemble.outputs {
                        for k in 0..<ensemble.outputs {
                            value[k] = ensemble.leafValues[leaf * ensemble.leafWidth + k] * scale
                        }
                    } else {
                        value[tree % ensemble.outputs] = ensemble.leafValues[leaf] * scale
                    }
                }
                add("values", .array(value.map { .number($0) }))
            }
            trees.append(.object(columns.mapValues { .array($0) }))
        }
        let base = ensemble.combine == .sum ? ensemble.base : [Double](repeating: 0, count: ensemble.outputs)
        return .object(["trees": .array(trees), "base_offset": .array(base.map { .number($0) })])
    }
}
