/// `monitoring:` in conveyor.yaml: the window drift and live metrics are
/// computed over, and per-feature drift methods and thresholds. Everything
/// has a default (see `DriftMethod.default`), so the key is optional.
public struct MonitoringSpec: Codable, Sendable, Equatable {
    /// The requests holding the last `last` predictions, or the last `minutes` minutes.
    public struct Window: Codable, Sendable, Equatable {
        public var last: Int?
        public var minutes: Double?

        public init(last: Int? = nil, minutes: Double? = nil) {
            self.last = last
            self.minutes = minutes
        }
    }

    /// A method and the threshold at which it calls drift.
    public struct Test: Codable, Sendable, Equatable {
        public var method: DriftMethod
        public var threshold: Double?

        public init(method: DriftMethod, threshold: Double? = nil) {
            self.method = method
            self.threshold = threshold
        }

        public var resolvedThreshold: Double { threshold ?? method.defaultThreshold }
    }

    public var window: Window?
    /// The share of drifting features at which the dataset drifts (default 0.5).
    public var driftShare: Double?
    /// Per-feature tests by feature name; `prediction` for the model's output.
    public var features: [String: Test]?
    public var prediction: Test?
    /// `rollback_when`: rules on the live version, by name (see `RollbackRule`).
    public var rollbackWhen: [String: RollbackBound]?

    enum CodingKeys: String, CodingKey {
        case window, features, prediction
        case driftShare = "drift_share"
        case rollbackWhen = "rollback_when"
    }

    /// The rollback rules, by name; the manifest's check has refused any that does not parse.
    public var rollbackRules: [RollbackRule] {
        (rollbackWhen ?? [:]).sorted { $0.key < $1.key }.compactMap { try? $0.value.rule(named: $0.key) }
    }

    public init(
        window: Window? = nil, driftShare: Double? = nil, features: [String: Test]? = nil, prediction: Test? = nil
    ) {
        self.window = window
        self.driftShare = driftShare
        self.features = features
        self.prediction = prediction
    }

    public static let defaultWindow = Window(last: 1000)
    public var resolvedWindow: Window { window ?? Self.defaultWindow }
    public var resolvedDriftShare: Double { driftShare ?? 0.5 }

    /// Checks names, methods against feature kinds, thresholds and the window.
    func check(features known: [FeatureSpec]) throws {
        if let window {
            switch (window.last, window.minutes) {
            case (let last?, nil) where last >= 10 && last <= 10_000_000: break
            case (nil, let minutes?) where minutes > 0: break
            default:
                throw Manifest.Problem(
                    key: "monitoring.window",
                    problem: "give either last (10 to 10000000 predictions) or minutes (more than 0)")
            }
        }
        if let driftShare, !(driftShare > 0 && driftShare <= 1) {
            throw Manifest.Problem(key: "monitoring.drift_share", problem: "must be more than 0 and at most 1")
        }
        for (name, test) in features ?? [:] {
            guard let feature = known.first(where: { $0.name == name }) else {
                throw Manifest.Problem(key: "monitoring.features.\(name)", problem: "is not a feature of the model")
            }
            try test.check(categorical: feature.type == .categorical, key: "monitoring.features.\(name)")
        }
        try prediction?.check(categorical: nil, key: "monitoring.prediction")
        for (name, bound) in rollbackWhen ?? [:] { _ = try bound.rule(named: name) }
    }
}

extension MonitoringSpec.Test {
    fileprivate func check(categorical: Bool?, key: String) throws {
        if let categorical, method.isCategorical != nil, method.isCategorical != categorical {
            throw Manifest.Problem(
                key: "\(key).method",
                problem: "\(method.rawValue) is for \(categorical ? "numeric" : "categorical") features")
        }
        if let threshold, !(threshold > 0 && threshold.isFinite) {
            throw Manifest.Problem(key: "\(key).threshold", problem: "must be a number above 0")
        }
    }
}
