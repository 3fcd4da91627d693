import Foundation
import Learning
import Registry
import Subprocess

/// Everything a finished training pipeline produced.
public struct TrainingOutcome: Sendable {
    public let manifest: Manifest
    public let manifestYAML: String
    public let artifact: ModelArtifact
    public let fingerprint: DataFingerprint
    public let gates: [GateResult]
    public let timings: [String: Double]
    /// How the candidate answered the live model's logged requests (nil when there were none).
    public let shadow: ShadowComparison?
    public var passed: Bool { gates.allSatisfy(\.passed) }
}
