import Foundation

/// Multinomial logistic regression: one weight vector per class, softmax of
/// the scores gives the class probabilities. Fitted by L-BFGS on the mean
/// cross-entropy plus `|W|² / (2·C·n)` (scikit-learn's objective divided by
/// `C·n`), on standardized inputs; the stored weights apply to raw inputs.
public struct LogisticModel: Codable, Sendable, Equatable {
    public var intercepts: [Double]
    /// `coefficients[k][j]`: weight of input `j` for class `k`.
    public var coefficients: [[Double]]
    /// The training inputs' means, the reference an explanation measures from; nil in
    /// models saved before explanations.
    public var means: [Double]?

    public init(intercepts: [Double], coefficients: [[Double]], means: [Double]? = nil) {
        self.intercepts = intercepts
        self.coefficients = coefficients
        self.means = means
    }

    /// Class probabilities for one encoded row.
    public func probabilities(_ row: UnsafeBufferPointer<Double>, into output: UnsafeMutableBufferPointer<Double>) {
        for k in intercepts.indices {
            var score = intercepts[k]
            let weights = coefficients[k]
            for j in 0..<min(row.count, weights.count) { score += weights[j] * row[j] }
            output[k] = score
        }
        Softmax.apply(output)
    }

    /// Fitting options.
    public struct Parameters: Sendable, Equatable {
        /// Inverse regularization strength (larger: less penalty).
        public var c = 1.0
        public var maxIterations = 1000
        public var tolerance = 1e-6
        public init() {}
    }

    /// Fits on class indices 0..<classes.
    public static func fit(_ data: Dataset, classes: Int, parameters: Parameters) -> LogisticModel {
        let n = data.count
        let p = data.width
        let means = data.columns.map { $0.reduce(0, +) / Double(max(1, n)) }
        let scales = data.columns.enumerated().map { j, column -> Double in
            let variance = column.reduce(0) { $0 + ($1 - means[j]) * ($1 - means[j]) } / Double(max(1, n))
            return variance > 1e-24 ? variance.squareRoot() : 1
        }
        // Standardized, row-major copy for cache-friendly passes.
        var x = [Double](repeating: 0, count: n * p)
        for j in 0..<p {
            let column = data.columns[j]
            for i in 0..<n { x[i * p + j] = (column[i] - means[j]) / scales[j] }
        }
        let labels = data.target.map { Int($0) }
        let width = p + 1  // weights then the intercept, per class
        let penalty = 1 / (parameters.c * Double(max(1, n)))

        func objective(_ theta: [Double], _ gradient: inout [Double]) -> Double {
            for index in gradient.indices { gradient[index] = 0 }
            var loss = 0.0
            var scores = [Double](repeating: 0, count: classes)
            x.withUnsafeBufferPointer { x in
                theta.withUnsafeBufferPointer { theta in
                    gradient.withUnsafeMutableBufferPointer { gradient in
                        scores.withUnsafeMutableBufferPointer { scores in
                            for i in 0..<n {
                                let row = x.baseAddress! + i * p
                                for k in 0..<classes {
                                    let w = theta.baseAddress! + k * width
                                    var s = w[p]
                                    for j in 0..<p { s += w[j] * row[j] }
                                    scores[k] = s
                                }
                                let largest = scores.max()!
                                var total = 0.0
                                for k in 0..<classes {
                                    scores[k] = exp(scores[k] - largest)
                                    total += scores[k]
                                }
                                loss -= log(max(scores[labels[i]] / total, 1e-300))
                                for k in 0..<classes {
                                    let residual = scores[k] / total - (k == labels[i] ? 1 : 0)
                                    let g = gradient.baseAddress! + k * width
                                    for j in 0..<p { g[j] += residual * row[j] }
                                    g[p] += residual
                                }
                            }
                        }
                    }
                }
            }
            let scale = 1 / Double(max(1, n))
            loss *= scale
            for index in gradient.indices { gradient[index] *= scale }
            for k in 0..<classes {
                for j in 0..<p {
                    let w = theta[k * width + j]
                    loss += 0.5 * penalty * w * w
                    gradient[k * width + j] += penalty * w
                }
            }
            return loss
        }

        let theta = LBFGS.minimize(
            start: [Double](repeating: 0, count: classes * width), maxIterations: parameters.maxIterations,
            tolerance: parameters.tolerance, objective: objective)
        var intercepts = [Double](repeating: 0, count: classes)
        var coefficients = [[Double]](repeating: [Double](repeating: 0, count: p), count: classes)
        for k in 0..<classes {
            var intercept = theta[k * width + p]
            for j in 0..<p {
                let w = theta[k * width + j] / scales[j]
                coefficients[k][j] = w
                intercept -= w * means[j]
            }
            intercepts[k] = intercept
        }
        return LogisticModel(intercepts: intercepts, coefficients: coefficients, means: means)
    }
}

/// Limited-memory BFGS with a backtracking (Armijo) line search.
enum LBFGS {
    static func minimize(
        start: [Double], maxIterations: Int, tolerance: Double, memory: Int = 10,
        objective: ([Double], inout [Double]) -> Double
    ) -> [Double] {
        var x = start
        var gradient = [Double](repeating: 0, count: x.count)
        var value = objective(x, &gradient)
        var steps: [[Double]] = []
        var changes: [[Double]] = []
        func dot(_ a: [Double], _ b: [Double]) -> Double {
            var sum = 0.0
            for index in a.indices { sum += a[index] * b[index] }
            return sum
        }
        for _ in 0..<maxIterations {
            let gradientNorm = dot(gradient, gradient).squareRoot()
            if gradientNorm <= tolerance * max(1, abs(value)) { break }
            // Two-loop recursion: direction = −H·g.
            var q = gradient
            var alphas = [Double](repeating: 0, count: steps.count)
            for index in stride(from: steps.count - 1, through: 0, by: -1) {
                let rho = 1 / dot(changes[index], steps[index])
                alphas[index] = rho * dot(steps[index], q)
                for j in q.indices { q[j] -= alphas[index] * changes[index][j] }
            }
            if let s = steps.last, let y = changes.last {
                let gamma = dot(s, y) / dot(y, y)
                for j in q.indices { q[j] *= gamma }
            } else {
                for j in q.indices { q[j] /= max(1, gradientNorm) }
            }
            for index in steps.indices {
                let rho = 1 / dot(changes[index], steps[index])
                let beta = rho * dot(changes[index], q)
                for j in q.indices { q[j] += steps[index][j] * (alphas[index] - beta) }
            }
            let direction = q.map { -$0 }
            var slope = dot(gradient, direction)
            var searchDirection = direction
            if slope >= 0 {  // not a descent direction: fall back to steepest descent
                searchDirection = gradient.map { -$0 }
                slope = -dot(gradient, gradient)
                steps.removeAll()
                changes.removeAll()
            }
            var stepSize = 1.0
            var candidate = x
            var candidateGradient = gradient
            var candidateValue = value
            var accepted = false
            for _ in 0..<40 {
                for j in x.indices { candidate[j] = x[j] + stepSize * searchDirection[j] }
                candidateValue = objective(candidate, &candidateGradient)
                if candidateValue <= value + 1e-4 * stepSize * slope {
                    accepted = true
                    break
                }
                stepSize *= 0.5
            }
            guard accepted else { break }
            let s = zip(candidate, x).map { $0 - $1 }
            let y = zip(candidateGradient, gradient).map { $0 - $1 }
            if dot(s, y) > 1e-12 {
                steps.append(s)
                changes.append(y)
                if steps.count > memory {
                    steps.removeFirst()
                    changes.removeFirst()
                }
            }
            let improvement = value - candidateValue
            x = candidate
            gradient = candidateGradient
            value = candidateValue
            if improvement <= 1e-12 * max(1, abs(value)) { break }
        }
        return x
    }
}
