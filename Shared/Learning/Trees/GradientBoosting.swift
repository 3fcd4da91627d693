import Foundation

/// Histogram gradient-boosted trees (the LightGBM / scikit-learn
/// HistGradientBoosting family): squared error for regression, log loss for
/// two classes, softmax for more (one tree per class per iteration). Trees
/// grow best-first up to `maxLeaves`; histogram building is split across
/// cores by input.
public enum GradientBoosting {
    /// Boosting hyperparameters (LightGBM's defaults, which scikit-learn's match).
    public struct Parameters: Sendable, Equatable {
        public var iterations = 100
        public var learningRate = 0.1
        public var maxLeaves: Int? = 31
        public var maxDepth: Int? = nil
        public var minSamplesLeaf = 20
        public var l2 = 0.0
        /// Stop when the validation loss has not improved for this many iterations; 0 turns it off.
        public var earlyStoppingRounds = 0
        /// Share of the training rows held out for early stopping.
        public var validationFraction = 0.1
        public var seed: UInt64 = 0

        public init() {}
    }

    public static func fit(
        _ data: Dataset, target: LearningTarget, parameters: Parameters, progress: TrainingProgress? = nil
    ) -> TreeEnsemble {
        // Hold out validation rows (seeded) when early stopping is on.
        var trainRows = Array(0..<data.count)
        var validationRows: [Int] = []
        if parameters.earlyStoppingRounds > 0 {
            var generator = RandomSource(seed: parameters.seed ^ 0xE57)
            trainRows.shuffle(using: &generator)
            let held = max(1, Int(Double(data.count) * parameters.validationFraction))
            validationRows = Array(trainRows.suffix(held)).sorted()
            trainRows = Array(trainRows.dropLast(held)).sorted()
        }
        let train = validationRows.isEmpty ? data : data.subset(trainRows)
        let binned = BinnedMatrix(columns: train.columns)
        let n = train.count
        let outputs = target.outputs == 2 ? 1 : target.outputs
        let y = train.target

        // Initial raw scores: the mean, the log-odds, or the log class priors.
        var base = [Double](repeating: 0, count: outputs)
        switch target {
        case .regression:
            base[0] = y.reduce(0, +) / Double(max(1, n))
        case .classification(let classes):
            var counts = [Double](repeating: 0, count: classes)
            for label in y { counts[Int(label)] += 1 }
            let priors = counts.map { max($0, 1) / Double(max(1, n)) }
            if classes == 2 {
                base[0] = log(priors[1] / priors[0])
            } else {
                base = priors.map { log($0) }
            }
        }
        var ensemble = TreeEnsemble(
            leafWidth: 1, outputs: outputs, base: base, combine: .sum,
            link: target == .regression ? .identity : (outputs == 1 ? .sigmoid : .softmax))
        var scores = [Double](repeating: 0, count: n * outputs)
        for row in 0..<n { for k in 0..<outputs { scores[row * outputs + k] = base[k] } }
        let validation = validationRows.isEmpty ? nil : data.subset(validationRows)
        var validationScores = [Double](repeating: 0, count: (validation?.count ?? 0) * outputs)
        for row in 0..<(validation?.count ?? 0) {
            for k in 0..<outputs { validationScores[row * outputs + k] = base[k] }
        }
        var bestLoss = Double.infinity
        var bestIterations = 0

        let settings = TreeSettings(
            maxDepth: parameters.maxDepth, maxLeaves: parameters.maxLeaves, minSamplesLeaf: parameters.minSamplesLeaf,
            minWeightLeaf: 1e-3, l2: parameters.l2, featuresPerSplit: binned.featureCount,
            leafScale: parameters.learningRate)
        var rowValues = [Double](repeating: 0, count: n * 2)
        var probabilities = [Double](repeating: 0, count: outputs)
        let allRows = (0..<n).map { Int32($0) }
        for iteration in 0..<parameters.iterations {
            // Gradients of the loss at the current scores.
            var gradients = [Double](repeating: 0, count: n * outputs)
            var hessians = [Double](repeating: 1, count: n * outputs)
            for row in 0..<n {
                switch target {
                case .regression:
                    gradients[row] = scores[row] - y[row]
                case .classification:
                    if outputs == 1 {
                        let p = 1 / (1 + exp(-scores[row]))
                        gradients[row] = p - y[row]
                        hessians[row] = max(p * (1 - p), 1e-16)
                    } else {
                        probabilities.withUnsafeMutableBufferPointer { p in
                            for k in 0..<outputs { p[k] = scores[row * outputs + k] }
                            Softmax.apply(p)
                            for k in 0..<outputs {
                                gradients[row * outputs + k] = p[k] - (Int(y[row]) == k ? 1 : 0)
                                hessians[row * outputs + k] = max(p[k] * (1 - p[k]), 1e-16)
                            }
                        }
                    }
                }
            }
            for k in 0..<outputs {
                for row in 0..<n {
                    rowValues[row * 2] = -gradients[row * outputs + k]
                    rowValues[row * 2 + 1] = hessians[row * outputs + k]
                }
                let grower = TreeGrower(
                    data: binned, channels: 1, rows: allRows, settings: settings,
                    seed: parameters.seed &+ UInt64(iteration), parallelHistograms: true)
                let tree = rowValues.withUnsafeBufferPointer { grower.grow(rowValues: $0.baseAddress!) }
                let order = grower.rowOrder
                for (leaf, range) in tree.leafRanges.enumerated() {
                    let value = tree.leafValues[leaf]
                    for position in range { scores[Int(order[position]) * outputs + k] += value }
                }
                ensemble.append(tree)
                if let validation {
                    let tree = ensemble.treeCount - 1
                    for row in 0..<validation.count {
                        validationScores[row * outputs + k] += ensemble.leafValue(
                            tree: tree, columns: validation.columns, row: row)
                    }
                }
            }
            if progress?(iteration + 1, parameters.iterations) == false { break }
            if let validation {
                let loss = Self.loss(validationScores, truth: validation.target, target: target, outputs: outputs)
                if !bestLoss.isFinite || loss < bestLoss - 1e-7 * abs(bestLoss) {
                    bestLoss = loss
                    bestIterations = iteration + 1
                } else if iteration + 1 - bestIterations >= parameters.earlyStoppingRounds {
                    break
                }
            } else {
                bestIterations = iteration + 1
            }
        }
        ensemble.truncate(toTrees: bestIterations * outputs)
        return ensemble
    }

    /// Mean loss of raw scores (squared error, or log loss).
    static func loss(_ scores: [Double], truth: [Double], target: LearningTarget, outputs: Int) -> Double {
        var total = 0.0
        for row in truth.indices {
            switch target {
            case .regression:
                total += (scores[row] - truth[row]) * (scores[row] - truth[row])
            case .classification:
                if outputs == 1 {
                    let p = 1 / (1 + exp(-scores[row]))
                    total -= log(max(1e-15, truth[row] == 1 ? p : 1 - p))
                } else {
                    let slice = scores[(row * outputs)..<((row + 1) * outputs)]
                    let largest = slice.max()!
                    let logSum = largest + log(slice.reduce(0) { $0 + exp($1 - largest) })
                    total -= scores[row * outputs + Int(truth[row])] - logSum
                }
            }
        }
        return total / Double(max(1, truth.count))
    }
}

extension TreeEnsemble {
    /// The leaf value tree `tree` gives row `row` of column-major data.
    func leafValue(tree: Int, columns: [[Double]], row: Int) -> Double {
        var index = Int(roots[tree])
        while nodes[index].feature >= 0 {
            let node = nodes[index]
            let x = columns[Int(node.feature)][row]
            index = Int(node.child) + (x <= node.threshold || (x.isNaN && missingLeft[index]) ? 0 : 1)
        }
        return leafValues[Int(nodes[index].child) * leafWidth]
    }
}
