import Foundation
import Learning

/// How a candidate answers the live model's recent real requests, scored in
/// process before it may be deployed (`gates.shadow` bounds it).
public struct ShadowComparison: Codable, Sendable, Equatable {
    /// The version that answered the requests.
    public var liveVersion: String
    /// Logged instances replayed.
    public var requests: Int
    /// Instances the candidate could not answer (e.g. a category it never saw).
    public var failures: Int
    public var failureShare: Double
    /// The candidate's validation problems on real requests, by "field: problem", most frequent first (at most 10).
    public var problems: [Problem]
    /// Regression: |candidate − live| over the instances both answered with a number.
    public var meanAbsoluteDifference: Double?
    public var absoluteDifference: Quantiles?
    /// Classification: share of instances where the candidate's label differs from the live one.
    public var labelDisagreement: Double?
    /// Classification: mean total-variation distance between the two probability distributions.
    public var meanProbabilityShift: Double?

    /// A validation problem and how many requests had it.
    public struct Problem: Codable, Sendable, Equatable {
        public var problem: String
        public var count: Int
    }

    /// The distribution of a difference.
    public struct Quantiles: Codable, Sendable, Equatable {
        public var p50: Double
        public var p90: Double
        public var p99: Double
        public var max: Double
    }

    enum CodingKeys: String, CodingKey {
        case liveVersion = "live_version"
        case requests, failures
        case failureShare = "failure_share"
        case problems
        case meanAbsoluteDifference = "mean_abs_diff"
        case absoluteDifference = "abs_diff"
        case labelDisagreement = "label_disagreement"
        case meanProbabilityShift = "mean_probability_shift"
    }
}
