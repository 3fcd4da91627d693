import Dispatch

/// A tree as grown: nodes, where missing values go, and `outputs` values per leaf.
struct GrownTree: Sendable {
    var nodes: [TreeNode]
    var missingLeft: [Bool]
    var leafValues: [Double]
    /// For each leaf, its training rows' range in the grower's row order.
    var leafRanges: [Range<Int>]

    /// Per node, the training rows that reached it (leaves' rows summed upwards; children
    /// always come after their parent): the cover TreeSHAP weighs paths by.
    var covers: [Double] {
        var covers = [Double](repeating: 0, count: nodes.count)
        for index in nodes.indices.reversed() {
            let node = nodes[index]
            let child = Int(node.child)
            covers[index] =
                node.feature >= 0 ? covers[child] + covers[child + 1] : Double(leafRanges[child].count)
        }
        return covers
    }
}
