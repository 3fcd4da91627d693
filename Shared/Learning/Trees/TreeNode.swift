import Dispatch

/// One node of a fitted tree. Internal: `feature ≥ 0`, rows with
/// `x[feature] <= threshold` go to `child`, others to `child + 1`. Leaf:
/// `feature == -1` and `child` is the leaf's index into the value table.
public struct TreeNode: Sendable, Equatable {
    public var threshold: Double
    public var feature: Int32
    public var child: Int32
}
