/// A numeric distribution binned by edges taken from the training data's
/// percentiles: bin `b` holds the values `width_bucket(value, edges)` puts
/// there (Postgres's function: bin 0 below `edges[0]`, bin `i` in
/// `[edges[i-1], edges[i])`, the last at or above the last edge), with the
/// count and the mean of the values in it. Live values are binned the same
/// way in SQL, so the reference and a window compare bin by bin.
public struct Histogram: Codable, Sendable, Equatable {
    /// Strictly increasing: the distinct 1st…99th percentiles.
    public var edges: [Double]
    public var counts: [Int]
    public var means: [Double]

    public init(edges: [Double], counts: [Int], means: [Double]) {
        self.edges = edges
        self.counts = counts
        self.means = means
    }

    /// Bins sorted finite values by their own percentiles.
    public init(sorted values: [Double]) {
        var edges: [Double] = []
        for percentile in 1...99 {
            let edge = FeatureStatistics.quantile(values, Double(percentile) / 100)
            if edges.last.map({ edge > $0 }) ?? true { edges.append(edge) }
        }
        var counts = [Int](repeating: 0, count: edges.count + 1)
        var sums = [Double](repeating: 0, count: edges.count + 1)
        for value in values {
            let bin = Self.bin(of: value, edges: edges)
            counts[bin] += 1
            sums[bin] += value
        }
        self.init(
            edges: edges, counts: counts,
            means: zip(sums, counts).map { $1 == 0 ? 0 : $0 / Double($1) })
    }

    /// Postgres's `width_bucket(value, edges)`, 0-based.
    public static func bin(of value: Double, edges: [Double]) -> Int {
        var low = 0
        var high = edges.count
        while low < high {
            let middle = (low + high) / 2
            if value >= edges[middle] { low = middle + 1 } else { high = middle }
        }
        return low
    }

    public var total: Int { counts.reduce(0, +) }
}
