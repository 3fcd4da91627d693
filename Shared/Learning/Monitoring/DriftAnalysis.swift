/// Compares a window with a reference.
public enum DriftAnalysis {
    /// The bins a numeric reference is compared in: its histogram, or for
    /// artifacts trained before monitoring, bins rebuilt from its deciles
    /// (10% of the values each; coarser, and the report says so).
    public static func histogram(of reference: FeatureStatistics) -> Histogram? {
        if let histogram = reference.histogram { return histogram }
        guard let deciles = reference.deciles, deciles.count == 11 else { return nil }
        // Edges: the distinct inner deciles. A bin from edge a to edge b holds the tenths between
        // their first places among the deciles (ties at a value put their mass at that value).
        var edges: [Double] = []
        for decile in deciles[1...9] where edges.last.map({ decile > $0 }) ?? true { edges.append(decile) }
        let first = edges.map { edge in deciles.firstIndex { $0 >= edge } ?? 10 }
        let present = reference.count - reference.missing
        var counts: [Int] = []
        var means: [Double] = []
        var lowerPlace = 0
        var lowerValue = deciles[0]
        for (edge, place) in zip(edges + [deciles[10]], first + [10]) {
            counts.append(present * (place - lowerPlace) / 10)
            means.append((lowerValue + edge) / 2)
            (lowerPlace, lowerValue) = (place, edge)
        }
        return Histogram(edges: edges, counts: counts, means: means)
    }

    /// The drift of a numeric feature.
    public static func numeric(
        _ name: String, reference: FeatureStatistics, live: LiveBins, rows: Int, test: MonitoringSpec.Test?
    ) -> FeatureDrift? {
        guard let histogram = histogram(of: reference) else { return nil }
        let bins = histogram.counts.count
        let liveCounts = (0..<bins).map { live.counts[$0] ?? 0 }
        let liveMeans = (0..<bins).map { bin in
            liveCounts[bin] == 0 ? 0 : (live.sums[bin] ?? 0) / Double(liveCounts[bin])
        }
        let present = liveCounts.reduce(0, +)
        let ks = DriftStatistics.ks(reference: histogram.counts, live: liveCounts)
        let pValue = DriftStatistics.ksPValue(ks, referenceCount: histogram.total, liveCount: present)
        let spread = reference.std.map { $0 > 0 ? $0 : 1 } ?? 1
        let wasserstein =
            DriftStatistics.wasserstein(
                referenceCounts: histogram.counts, referenceMeans: histogram.means, liveCounts: liveCounts,
                liveMeans: liveMeans) / spread
        let (groupedReference, groupedLive) = DriftStatistics.regroup(reference: histogram.counts, live: liveCounts)
        let psi = DriftStatistics.psi(reference: groupedReference, live: groupedLive)
        let statistics = ["ks": ks, "ks_p_value": pValue, "wasserstein": wasserstein, "psi": psi]
        // Decile-only references (artifacts from before monitoring) are read with KS alone:
        // their CDF is known at the deciles, their distances would be guesses.
        let method =
            test?.method
            ?? (reference.histogram == nil ? .ks : .default(categorical: false, referenceCount: histogram.total))
        let value =
            switch method {
            case .ks: pValue
            case .wasserstein: wasserstein
            default: psi
            }
        return decide(
            name, kind: "numeric", method: method, value: value, threshold: test?.resolvedThreshold,
            statistics: statistics, rows: rows, present: present, live: live)
    }

    /// The drift of a categorical feature (or a classifier's predicted label).
    public static func categorical(
        _ name: String, reference: FeatureStatistics, live: LiveBins, rows: Int, test: MonitoringSpec.Test?
    ) -> FeatureDrift? {
        guard let frequencies = reference.frequencies else { return nil }
        let categories = Set(frequencies.keys).union(live.categories.keys).sorted()
        let referenceCounts = categories.map { frequencies[$0] ?? 0 }
        let liveCounts = categories.map { live.categories[$0] ?? 0 }
        let present = liveCounts.reduce(0, +)
        let chi = DriftStatistics.chiSquare(reference: referenceCounts, live: liveCounts)
        let js = DriftStatistics.jensenShannon(reference: referenceCounts, live: liveCounts)
        let psi = DriftStatistics.psi(reference: referenceCounts, live: liveCounts)
        let statistics = [
            "chi_square": chi.statistic, "chi_square_p_value": chi.pValue, "jensen_shannon": js, "psi": psi,
        ]
        let method = test?.method ?? .default(categorical: true, referenceCount: referenceCounts.reduce(0, +))
        let value =
            switch method {
            case .chisquare: chi.pValue
            case .jensenshannon: js
            default: psi
            }
        var live = live
        live.outOfRange = categories.filter { frequencies[$0] == nil }.reduce(0) { $0 + (live.categories[$1] ?? 0) }
        return decide(
            name, kind: "categorical", method: method, value: value, threshold: test?.resolvedThreshold,
            statistics: statistics, rows: rows, present: present, live: live)
    }

    private static func decide(
        _ name: String, kind: String, method: DriftMethod, value: Double, threshold: Double?,
        statistics: [String: Double], rows: Int, present: Int, live: LiveBins
    ) -> FeatureDrift {
        let threshold = threshold ?? method.defaultThreshold
        let drifted = present > 0 && (method.isPValue ? value < threshold : value >= threshold)
        let rowsSeen = max(rows, 1)
        return FeatureDrift(
            feature: name, kind: kind, method: method, value: value, threshold: threshold, drifted: drifted,
            statistics: statistics, rows: rows, missingShare: Double(rows - present) / Double(rowsSeen),
            outOfRangeShare: Double(live.outOfRange) / Double(rowsSeen))
    }
}
