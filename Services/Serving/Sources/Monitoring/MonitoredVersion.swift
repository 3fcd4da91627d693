import Foundation
import Learning
import Postgres

/// A model version that answered in a window, with what its drift is
/// measured against: its artifact's reference statistics and its manifest's
/// `monitoring:` settings.
struct MonitoredVersion: Sendable {
    let artifact: ModelArtifact
    let spec: MonitoringSpec
    /// What the reference is: "histogram" (percentile bins), or "deciles" for
    /// artifacts trained before monitoring, whose drift is coarser.
    let reference: String
    /// The features drift is computed for, with the prediction as "" (its
    /// reference is the predictions on the test split).
    let monitored: [(name: String, statistics: FeatureStatistics, categorical: Bool)]

    init(artifact: ModelArtifact, manifestYAML: String?) {
        self.artifact = artifact
        spec = manifestYAML.flatMap { try? Manifest.parse($0).monitoring } ?? MonitoringSpec()
        let numeric = artifact.reference.values.filter { $0.frequencies == nil }
        reference =
            numeric.allSatisfy({ $0.histogram != nil }) && artifact.predictionReference != nil
            ? "histogram"
            : "deciles (trained before monitoring: no percentile bins or prediction reference; KS resolution 0.1)"
        var monitored = artifact.features.compactMap { feature -> (String, FeatureStatistics, Bool)? in
            artifact.reference[feature.name].map { (feature.name, $0, feature.type == .categorical) }
        }
        if let prediction = artifact.predictionReference {
            monitored.append(("", prediction, artifact.classes != nil))
        }
        self.monitored = monitored
    }
}
