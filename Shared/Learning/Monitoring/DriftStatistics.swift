import Foundation

/// Two-sample drift statistics computed from binned data: the reference's
/// `Histogram` (or category counts) against the same bins of a live window,
/// which Postgres aggregates. Binning bounds the error against the raw
/// samples (scipy's `ks_2samp`, `wasserstein_distance`, `chisquare`,
/// `jensenshannon`): the KS statistic is exact at every bin edge and can miss
/// at most the largest within-bin difference; Wasserstein treats each bin's
/// values as sitting at their mean (exact for values that repeat, off by at
/// most the bin's width times its mass otherwise). `Tests` compare with scipy.
public enum DriftStatistics {
    /// PSI's floor for an empty bin (Evidently's choice).
    static let psiFloor = 0.0001

    /// Kolmogorov–Smirnov: the largest gap between the two CDFs at bin edges.
    public static func ks(reference: [Int], live: [Int]) -> Double {
        let (nr, nl) = (Double(reference.reduce(0, +)), Double(live.reduce(0, +)))
        guard nr > 0, nl > 0 else { return 0 }
        var (cr, cl, gap) = (0.0, 0.0, 0.0)
        for (r, l) in zip(reference, live) {
            cr += Double(r)
            cl += Double(l)
            gap = max(gap, abs(cr / nr - cl / nl))
        }
        return gap
    }

    /// The asymptotic two-sided p-value of a two-sample KS statistic
    /// (Kolmogorov's distribution with Stephens' small-sample correction).
    public static func ksPValue(_ statistic: Double, referenceCount: Int, liveCount: Int) -> Double {
        guard referenceCount > 0, liveCount > 0, statistic > 0 else { return 1 }
        let n = Double(referenceCount) * Double(liveCount) / Double(referenceCount + liveCount)
        let lambda = (n.squareRoot() + 0.12 + 0.11 / n.squareRoot()) * statistic
        var sum = 0.0
        var sign = 1.0
        for j in 1...100 {
            let term = sign * exp(-2 * Double(j * j) * lambda * lambda)
            sum += term
            if abs(term) < 1e-12 { break }
            sign = -sign
        }
        return min(1, max(0, 2 * sum))
    }

    /// Wasserstein-1 between two binned samples, each bin's mass at its mean.
    public static func wasserstein(
        referenceCounts: [Int], referenceMeans: [Double], liveCounts: [Int], liveMeans: [Double]
    ) -> Double {
        let (nr, nl) = (Double(referenceCounts.reduce(0, +)), Double(liveCounts.reduce(0, +)))
        guard nr > 0, nl > 0 else { return 0 }
        // Signed point masses: +reference, -live; the CDF difference integrated over x.
        var points: [(x: Double, mass: Double)] = []
        for (count, mean) in zip(referenceCounts, referenceMeans) where count > 0 {
            points.append((mean, Double(count) / nr))
        }
        for (count, mean) in zip(liveCounts, liveMeans) where count > 0 { points.append((mean, -Double(count) / nl)) }
        points.sort { $0.x < $1.x }
        var difference = 0.0
        var distance = 0.0
        for index in points.indices {
            if index > 0 { distance += abs(difference) * (points[index].x - points[index - 1].x) }
            difference += points[index].mass
        }
        return distance
    }

    /// Population stability index over matching bins (or categories).
    public static func psi(reference: [Int], live: [Int]) -> Double {
        let (nr, nl) = (Double(reference.reduce(0, +)), Double(live.reduce(0, +)))
        guard nr > 0, nl > 0 else { return 0 }
        return zip(reference, live).reduce(0) { sum, pair in
            let r = max(Double(pair.0) / nr, psiFloor)
            let l = max(Double(pair.1) / nl, psiFloor)
            return sum + (l - r) * log(l / r)
        }
    }

    /// Groups consecutive bins into about `groups` bins of equal reference
    /// mass (PSI is read on ~10 bins; on 100 it is mostly noise).
    public static func regroup(reference: [Int], live: [Int], groups: Int = 10) -> ([Int], [Int]) {
        let total = reference.reduce(0, +)
        guard total > 0 else { return (reference, live) }
        var (outReference, outLive) = ([Int](), [Int]())
        var (r, l, seen) = (0, 0, 0)
        for (index, (count, liveCount)) in zip(reference, live).enumerated() {
            r += count
            l += liveCount
            seen += count
            let last = index == reference.count - 1
            if last || seen * groups >= (outReference.count + 1) * total {
                outReference.append(r)
                outLive.append(l)
                (r, l) = (0, 0)
            }
        }
        return (outReference, outLive)
    }

    /// Pearson's chi-square of live counts against the reference's
    /// proportions (each category's reference count plus 0.5, so a category
    /// the reference never saw has a finite expectation), and its p-value.
    public static func chiSquare(reference: [Int], live: [Int]) -> (statistic: Double, pValue: Double) {
        let nl = Double(live.reduce(0, +))
        let smoothed = reference.map { Double($0) + 0.5 }
        let nr = smoothed.reduce(0, +)
        guard nl > 0, reference.count >= 2 else { return (0, 1) }
        let statistic = zip(smoothed, live).reduce(0) { sum, pair in
            let expected = nl * pair.0 / nr
            return sum + (Double(pair.1) - expected) * (Double(pair.1) - expected) / expected
        }
        return (statistic, upperRegularizedGamma(Double(reference.count - 1) / 2, statistic / 2))
    }

    /// Jensen–Shannon distance (natural log, as scipy's `jensenshannon`).
    public static func jensenShannon(reference: [Int], live: [Int]) -> Double {
        let (nr, nl) = (Double(reference.reduce(0, +)), Double(live.reduce(0, +)))
        guard nr > 0, nl > 0 else { return 0 }
        var divergence = 0.0
        for (r, l) in zip(reference, live) {
            let (p, q) = (Double(r) / nr, Double(l) / nl)
            let m = (p + q) / 2
            if p > 0 { divergence += p * log(p / m) / 2 }
            if q > 0 { divergence += q * log(q / m) / 2 }
        }
        return max(0, divergence).squareRoot()
    }

    /// Q(a, x) = Γ(a, x) / Γ(a): a series below a + 1, a continued fraction
    /// above (Numerical Recipes §6.2).
    public static func upperRegularizedGamma(_ a: Double, _ x: Double) -> Double {
        guard x > 0 else { return 1 }
        let logPrefix = -x + a * log(x) - lgamma(a)
        if x < a + 1 {
            var (sum, term, n) = (1 / a, 1 / a, a)
            for _ in 0..<1000 {
                n += 1
                term *= x / n
                sum += term
                if abs(term) < abs(sum) * 1e-15 { break }
            }
            return max(0, 1 - sum * exp(logPrefix))
        }
        let tiny = 1e-300
        var b = x + 1 - a
        var c = 1 / tiny
        var d = 1 / b
        var h = d
        for i in 1..<1000 {
            let an = -Double(i) * (Double(i) - a)
            b += 2
            d = an * d + b
            if abs(d) < tiny { d = tiny }
            c = b + an / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) < 1e-15 { break }
        }
        return min(1, exp(logPrefix) * h)
    }
}
