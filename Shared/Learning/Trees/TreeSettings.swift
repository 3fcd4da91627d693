import Dispatch

/// How one tree grows.
struct TreeSettings: Sendable {
    /// Deepest level a split may create (root = 0); nil for no limit.
    var maxDepth: Int?
    /// Most leaves; set, the tree grows best-first (largest gain first), else depth-first.
    var maxLeaves: Int?
    /// Fewest distinct training rows in a leaf.
    var minSamplesLeaf = 1
    /// Smallest total weight (hessian for boosting) in a leaf.
    var minWeightLeaf = 0.0
    /// L2 penalty on leaf values (λ in `S² / (W + λ)`).
    var l2 = 0.0
    /// Inputs tried per split; fewer than all samples them at random per node.
    var featuresPerSplit: Int
    /// Leaf values are multiplied by this (the learning rate for boosting).
    var leafScale = 1.0
}
