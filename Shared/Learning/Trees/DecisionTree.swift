import Dispatch
import Foundation
import Synchronization

/// One CART decision tree: the whole training set, every input at each split.
public enum DecisionTree {
    /// Tree hyperparameters.
    public struct Parameters: Sendable, Equatable {
        public var maxDepth: Int? = nil
        public var minSamplesLeaf = 1
        public init() {}
    }

    public static func fit(_ data: Dataset, target: LearningTarget, parameters: Parameters) -> TreeEnsemble {
        var forest = RandomForest.Parameters()
        forest.trees = 1
        forest.bootstrap = false
        forest.maxFeatures = 1
        forest.maxDepth = parameters.maxDepth
        forest.minSamplesLeaf = parameters.minSamplesLeaf
        return RandomForest.fit(data, target: target, parameters: forest)
    }
}
