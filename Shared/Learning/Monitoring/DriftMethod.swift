/// How a feature's drift is decided: p-value tests drift below the
/// threshold, distances at or above it.
public enum DriftMethod: String, Codable, Sendable, CaseIterable {
    case ks, wasserstein, psi, chisquare, jensenshannon

    /// Whether it is for categorical features (nil: either).
    var isCategorical: Bool? {
        switch self {
        case .ks, .wasserstein: false
        case .chisquare, .jensenshannon: true
        case .psi: nil
        }
    }

    public var isPValue: Bool { self == .ks || self == .chisquare }

    public var defaultThreshold: Double {
        switch self {
        case .ks, .chisquare: 0.05
        case .wasserstein, .jensenshannon, .psi: 0.1
        }
    }

    /// Evidently's rule: tests for small references (≤ 1000 values), distances for larger ones.
    public static func `default`(categorical: Bool, referenceCount: Int) -> DriftMethod {
        switch (categorical, referenceCount <= 1000) {
        case (false, true): .ks
        case (false, false): .wasserstein
        case (true, true): .chisquare
        case (true, false): .jensenshannon
        }
    }
}
