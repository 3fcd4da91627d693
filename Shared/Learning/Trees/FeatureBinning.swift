import Dispatch
import Synchronization

/// The training matrix quantized for histogram tree learning: each input's
/// values map to at most 255 ordered bins (one per distinct value when there
/// are few, quantiles otherwise), and bin 255 holds missing values. Splits
/// are searched between bins; the threshold recorded for a split is the
/// midpoint between the neighbouring bins' values, so the fitted trees
/// predict on raw numbers.
struct BinnedMatrix: Sendable {
    static let missingBin = 255
    static let maxValueBins = 255

    let rowCount: Int
    let featureCount: Int
    /// `bins.pointer[f * rowCount + i]`: the bin of row `i`'s input `f`.
    let bins: BinStorage
    /// The same bins row-major (`rowBins.pointer[i * featureCount + f]`), so a
    /// histogram pass over all inputs reads one cache line per row.
    let rowBins: BinStorage
    /// `upperBounds[f][b]`: the largest value in bin `b` goes left of a split at `b`
    /// when compared with this threshold (`x <= threshold`).
    let thresholds: [[Double]]
    let hasMissing: [Bool]

    /// Number of value bins of input `f`.
    func binCount(_ feature: Int) -> Int { thresholds[feature].count + 1 }

    init(columns: [[Double]]) {
        let rowCount = columns.first?.count ?? 0
        let featureCount = columns.count
        self.rowCount = rowCount
        self.featureCount = featureCount
        let results = ParallelResults<([Double], Bool)>(count: featureCount)
        let bins = BinStorage(count: rowCount * featureCount)
        do {
            nonisolated(unsafe) let output = bins.pointer  // each feature writes only its own slice
            DispatchQueue.concurrentPerform(iterations: featureCount) { feature in
                let column = columns[feature]
                let thresholds = Self.thresholds(for: column)
                var missing = false
                let base = feature * rowCount
                for row in 0..<rowCount {
                    let value = column[row]
                    if value.isNaN {
                        output[base + row] = UInt8(Self.missingBin)
                        missing = true
                    } else {
                        output[base + row] = UInt8(Self.bin(of: value, thresholds: thresholds))
                    }
                }
                results.set(feature, (thresholds, missing))
            }
        }
        self.bins = bins
        let rowBins = BinStorage(count: rowCount * featureCount)
        for feature in 0..<featureCount {
            let column = bins.pointer + feature * rowCount
            for row in 0..<rowCount { rowBins.pointer[row * featureCount + feature] = column[row] }
        }
        self.rowBins = rowBins
        let collected = results.values
        self.thresholds = collected.map(\.0)
        self.hasMissing = collected.map(\.1)
    }

    /// The first bin whose threshold is ≥ value (binary search).
    static func bin(of value: Double, thresholds: [Double]) -> Int {
        var low = 0
        var high = thresholds.count
        while low < high {
            let middle = (low + high) / 2
            if value <= thresholds[middle] { high = middle } else { low = middle + 1 }
        }
        return low
    }

    /// Split thresholds between consecutive bins: midpoints between distinct
    /// values, placed so that bins hold about equally many rows.
    static func thresholds(for column: [Double]) -> [Double] {
        let values = column.filter { !$0.isNaN }.sorted()
        guard !values.isEmpty else { return [] }
        var distinct: [Double] = []
        var counts: [Int] = []
        for value in values {
            if let last = distinct.last, last == value {
                counts[counts.count - 1] += 1
            } else {
                distinct.append(value)
                counts.append(1)
            }
        }
        if distinct.count <= maxValueBins {
            return (0..<(distinct.count - 1)).map { (distinct[$0] + distinct[$0 + 1]) / 2 }
        }
        var thresholds: [Double] = []
        let perBin = Double(values.count) / Double(maxValueBins)
        var cumulative = 0
        for index in 0..<(distinct.count - 1) {
            cumulative += counts[index]
            let target = perBin * Double(thresholds.count + 1)
            if Double(cumulative) >= target {
                thresholds.append((distinct[index] + distinct[index + 1]) / 2)
                if thresholds.count == maxValueBins - 1 { break }
            }
        }
        return thresholds
    }
}

/// An owned, fixed-size byte buffer, written once while binning and only read afterwards.
// @unchecked Sendable: the buffer is filled before the value is shared and never mutated after.
final class BinStorage: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<UInt8>

    init(count: Int) {
        pointer = UnsafeMutablePointer<UInt8>.allocate(capacity: max(1, count))
        pointer.initialize(repeating: 0, count: max(1, count))
    }

    deinit { pointer.deallocate() }
}

/// Collects one result per index from concurrent workers.
final class ParallelResults<Value: Sendable>: Sendable {
    private let storage: Mutex<[Value?]>

    init(count: Int) { storage = Mutex([Value?](repeating: nil, count: count)) }

    func set(_ index: Int, _ value: Value) { storage.withLock { $0[index] = value } }

    /// All results; every index must have been set.
    var values: [Value] { storage.withLock { $0.map { $0! } } }

    /// The results that were set (all of them unless the work stopped early).
    var setValues: [Value] { storage.withLock { $0.compactMap { $0 } } }
}
