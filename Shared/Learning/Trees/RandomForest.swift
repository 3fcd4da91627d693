import Dispatch
import Foundation
import Synchronization

/// Reports training progress: (finished steps, total steps), called from
/// worker threads between trees or boosting rounds. Returning false stops
/// training early (a cancelled run); the caller discards the model then.
public typealias TrainingProgress = @Sendable (Int, Int) -> Bool

/// Random forest (and a single CART tree, which is a forest of one without
/// bootstrap): trees grown independently on bootstrap samples, in parallel on
/// all cores; each tree's seed derives from the forest's, so a seed fixes the
/// model whatever the thread timing.
public enum RandomForest {
    /// Forest hyperparameters (the scikit-learn defaults).
    public struct Parameters: Sendable, Equatable {
        public var trees = 100
        public var maxDepth: Int? = nil
        public var minSamplesLeaf = 1
        /// Fraction of inputs tried per split; nil: all for regression, √n for classification.
        public var maxFeatures: Double? = nil
        public var bootstrap = true
        public var seed: UInt64 = 0

        public init() {}
    }

    public static func fit(
        _ data: Dataset, target: LearningTarget, parameters: Parameters, progress: TrainingProgress? = nil
    ) -> TreeEnsemble {
        let binned = BinnedMatrix(columns: data.columns)
        return fit(binned, targetValues: data.target, target: target, parameters: parameters, progress: progress)
    }

    static func fit(
        _ binned: BinnedMatrix, targetValues: [Double], target: LearningTarget, parameters: Parameters,
        progress: TrainingProgress?
    ) -> TreeEnsemble {
        let rowCount = binned.rowCount
        let outputs = target.outputs
        let features = binned.featureCount
        let perSplit: Int
        if let fraction = parameters.maxFeatures {
            perSplit = max(1, min(features, Int((fraction * Double(features)).rounded())))
        } else if case .classification = target {
            perSplit = max(1, Int(Double(features).squareRoot()))
        } else {
            perSplit = features
        }
        let settings = TreeSettings(
            maxDepth: parameters.maxDepth, maxLeaves: nil, minSamplesLeaf: max(1, parameters.minSamplesLeaf),
            featuresPerSplit: perSplit)
        let trees = ParallelResults<GrownTree>(count: parameters.trees)
        let next = Atomic<Int>(0)
        let finished = Atomic<Int>(0)
        let stopped = Atomic<Bool>(false)
        let workers = min(parameters.trees, max(1, ProcessInfo.processInfo.activeProcessorCount))
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            var rowValues = [Double](repeating: 0, count: rowCount * (outputs + 1))
            var weights = [Double](repeating: 0, count: rowCount)
            while true {
                let tree = next.add(1, ordering: .relaxed).oldValue
                guard tree < parameters.trees, !stopped.load(ordering: .relaxed) else { break }
                let seed = parameters.seed &* 1_000_003 &+ UInt64(tree)
                var generator = RandomSource(seed: seed ^ 0x5EED)
                if parameters.bootstrap {
                    for row in 0..<rowCount { weights[row] = 0 }
                    for _ in 0..<rowCount { weights[Int.random(in: 0..<rowCount, using: &generator)] += 1 }
                } else {
                    for row in 0..<rowCount { weights[row] = 1 }
                }
                var rows: [Int32] = []
                rows.reserveCapacity(rowCount)
                for row in 0..<rowCount where weights[row] > 0 { rows.append(Int32(row)) }
                let width = outputs + 1
                for row in rows {
                    let base = Int(row) * width
                    let weight = weights[Int(row)]
                    switch target {
                    case .regression:
                        rowValues[base] = weight * targetValues[Int(row)]
                    case .classification:
                        for k in 0..<outputs { rowValues[base + k] = 0 }
                        rowValues[base + Int(targetValues[Int(row)])] = weight
                    }
                    rowValues[base + outputs] = weight
                }
                let grower = TreeGrower(data: binned, channels: outputs, rows: rows, settings: settings, seed: seed)
                let grown = rowValues.withUnsafeBufferPointer { grower.grow(rowValues: $0.baseAddress!) }
                trees.set(tree, grown)
                let done = finished.add(1, ordering: .relaxed).newValue
                if progress?(done, parameters.trees) == false { stopped.store(true, ordering: .relaxed) }
            }
        }
        var ensemble = TreeEnsemble(
            leafWidth: outputs, outputs: outputs, base: [Double](repeating: 0, count: outputs), combine: .average,
            link: .identity)
        for tree in trees.setValues { ensemble.append(tree) }
        return ensemble
    }
}
