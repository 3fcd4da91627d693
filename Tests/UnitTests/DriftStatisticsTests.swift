import Learning
import Testing

@Suite("drift statistics")
struct DriftStatisticsTests {
    @Test(
        "the regularized upper incomplete gamma (chi-square p-values) matches scipy.special.gammaincc",
        arguments: [
            (2.5, 3.0, 0.30621891841327875), (0.5, 0.1, 0.6547208460185768), (10, 30, 7.121750862815593e-06),
            (2, 1.5, 0.5578254003710748),
        ])
    func incompleteGamma(_ a: Double, _ x: Double, _ scipy: Double) {
        let ours = DriftStatistics.upperRegularizedGamma(a, x)
        #expect(abs(ours - scipy) <= 1e-12 * max(1, scipy) + 1e-15, "Q(\(a), \(x)) = \(ours), scipy \(scipy)")
    }

    @Test("a decile-only reference (an artifact from before monitoring) puts tied deciles' mass at their value")
    func legacyDeciles() throws {
        var reference = FeatureStatistics(values: (0..<1000).map { Double($0) })
        reference.histogram = nil
        reference.deciles = [0, 0, 0, 0, 0, 0, 0.5, 1.8, 4.3, 10.2, 54.1]
        let histogram = try #require(DriftAnalysis.histogram(of: reference))
        #expect(histogram.edges == [0, 0.5, 1.8, 4.3, 10.2])
        #expect(histogram.counts == [0, 600, 100, 100, 100, 100], "60% at 0, none below it")
        // The same sample live: nothing drifts, and KS decides (distances would be guesses here).
        var live = LiveBins()
        for (bin, count) in histogram.counts.enumerated() { live.counts[bin] = count }
        let drift = try #require(DriftAnalysis.numeric("rain", reference: reference, live: live, rows: 1000, test: nil))
        #expect(drift.method == .ks)
        #expect(!drift.drifted)
        #expect(drift.statistics["ks"] == 0)
    }

    @Test("percentile bins keep ties in one bin, as Postgres's width_bucket does")
    func histogramTies() {
        let values = (Array(repeating: 0.0, count: 700) + (1...300).map(Double.init)).sorted()
        let histogram = Histogram(sorted: values)
        #expect(histogram.edges.first == 0)
        #expect(histogram.counts[0] == 0 && histogram.counts[1] >= 700, "\(histogram.counts.prefix(3))")
        #expect(histogram.total == 1000)
        #expect(Histogram.bin(of: 0, edges: histogram.edges) == 1)
    }
}
