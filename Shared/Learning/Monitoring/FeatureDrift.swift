/// One feature's (or the prediction's) drift in one window: every statistic
/// that applies to its kind, the method that decides, and the shares of
/// missing and out-of-range values.
public struct FeatureDrift: Codable, Sendable, Equatable {
    public var feature: String
    public var kind: String
    public var method: DriftMethod
    /// The deciding statistic (a p-value for ks and chisquare, a distance otherwise).
    public var value: Double
    public var threshold: Double
    public var drifted: Bool
    /// ks, ks_p_value, wasserstein (normalised by the reference's standard
    /// deviation), psi; or chi_square, chi_square_p_value, jensen_shannon, psi.
    public var statistics: [String: Double]
    public var rows: Int
    public var missingShare: Double
    /// Numeric: outside the training range; categorical: a category training never saw.
    public var outOfRangeShare: Double

    enum CodingKeys: String, CodingKey {
        case feature, kind, method, value, threshold, drifted, statistics, rows
        case missingShare = "missing_share"
        case outOfRangeShare = "out_of_range_share"
    }
}
