/// Ordinary least squares (optionally ridge-penalized) linear regression,
/// solved exactly through the normal equations with a Cholesky factorization.
public struct LinearModel: Codable, Sendable, Equatable {
    public var intercept: Double
    public var coefficients: [Double]
    /// The training inputs' means, the reference an explanation measures from; nil in
    /// models saved before explanations.
    public var means: [Double]?

    public init(intercept: Double, coefficients: [Double], means: [Double]? = nil) {
        self.intercept = intercept
        self.coefficients = coefficients
        self.means = means
    }

    /// Predicts one encoded row.
    public func predict(_ row: [Double]) -> Double { row.withUnsafeBufferPointer { predict($0) } }

    /// Predicts one encoded row.
    @inlinable
    public func predict(_ row: UnsafeBufferPointer<Double>) -> Double {
        var sum = intercept
        for index in 0..<min(row.count, coefficients.count) { sum += coefficients[index] * row[index] }
        return sum
    }

    /// Fits `target ≈ intercept + features · coefficients`, minimizing squared
    /// error plus `l2 · |coefficients|²` (the intercept is not penalized).
    public static func fit(_ data: Dataset, l2: Double = 0) -> LinearModel {
        let n = data.count
        let p = data.width
        guard n > 0, p > 0 else {
            return LinearModel(intercept: data.target.reduce(0, +) / Double(max(n, 1)), coefficients: [])
        }
        // Center so the intercept drops out of the system.
        let means = data.columns.map { $0.reduce(0, +) / Double(n) }
        let targetMean = data.target.reduce(0, +) / Double(n)
        let centered = data.columns.enumerated().map { j, column in column.map { $0 - means[j] } }
        let centeredTarget = data.target.map { $0 - targetMean }

        var gram = [Double](repeating: 0, count: p * p)
        var moment = [Double](repeating: 0, count: p)
        func dot(_ a: [Double], _ b: [Double]) -> Double {
            var sum = 0.0
            for i in 0..<n { sum += a[i] * b[i] }
            return sum
        }
        for j in 0..<p {
            moment[j] = dot(centered[j], centeredTarget)
            for k in j..<p { gram[j * p + k] = dot(centered[j], centered[k]) }
        }
        for j in 0..<p { for k in 0..<j { gram[j * p + k] = gram[k * p + j] } }
        for j in 0..<p { gram[j * p + j] += l2 }
        // A constant column carries no information: it gets coefficient 0 and
        // stays out of the system, which would otherwise be singular.
        let largest = (0..<p).map { gram[$0 * p + $0] }.max() ?? 0
        let kept = (0..<p).filter { gram[$0 * p + $0] > largest * 1e-14 }
        let size = kept.count
        var reduced = [Double](repeating: 0, count: size * size)
        for (a, j) in kept.enumerated() { for (b, k) in kept.enumerated() { reduced[a * size + b] = gram[j * p + k] } }
        let reducedMoment = kept.map { moment[$0] }
        // Collinear columns (duplicates) still make it singular: a ridge tiny
        // relative to the data's scale keeps it solvable.
        var jittered = reduced
        for a in 0..<size { jittered[a * size + a] += max(largest, 1) * 1e-9 }
        let solution =
            Cholesky.solve(reduced, reducedMoment, size: size)
            ?? Cholesky.solve(jittered, reducedMoment, size: size)
            ?? [Double](repeating: 0, count: size)
        var coefficients = [Double](repeating: 0, count: p)
        for (a, j) in kept.enumerated() { coefficients[j] = solution[a] }
        var intercept = targetMean
        for j in 0..<p { intercept -= coefficients[j] * means[j] }
        return LinearModel(intercept: intercept, coefficients: coefficients, means: means)
    }
}

/// Solves symmetric positive-definite systems.
enum Cholesky {
    /// Solves `A x = b` for a row-major `size × size` matrix; nil if not positive definite.
    static func solve(_ a: [Double], _ b: [Double], size n: Int) -> [Double]? {
        var l = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0...i {
                var sum = a[i * n + j]
                for k in 0..<j { sum -= l[i * n + k] * l[j * n + k] }
                if i == j {
                    guard sum > 1e-12 * max(1, abs(a[i * n + i])) else { return nil }
                    l[i * n + i] = sum.squareRoot()
                } else {
                    l[i * n + j] = sum / l[j * n + j]
                }
            }
        }
        var y = [Double](repeating: 0, count: n)
        for i in 0..<n {
            var sum = b[i]
            for k in 0..<i { sum -= l[i * n + k] * y[k] }
            y[i] = sum / l[i * n + i]
        }
        var x = [Double](repeating: 0, count: n)
        for i in stride(from: n - 1, through: 0, by: -1) {
            var sum = y[i]
            for k in (i + 1)..<n { sum -= l[k * n + i] * x[k] }
            x[i] = sum / l[i * n + i]
        }
        return x
    }
}
