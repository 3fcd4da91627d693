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

    init(artifact: ModelArtifact, manifestYAML: String?) {
        self.artifact = artifact
        spec = manifestYAML.flatMap { try? Manifest.parse($0).monitoring } ?? MonitoringSpec()
        let numeric = artifact.reference.values.filter { $0.frequencies == nil }
        reference =
            numeric.allSatisfy({ $0.histogram != nil }) && artifact.predictionReference != nil
            ? "histogram"
            : "deciles (trained before monitoring: no percentile bins or prediction reference; KS resolution 0.1)"
    }

    /// The features drift is computed for, with the prediction as "" (its
    /// reference is the predictions on the test split).
    var monitored: [(name: String, statistics: FeatureStatistics, categorical: Bool)] {
        var list = artifact.features.compactMap { feature -> (String, FeatureStatistics, Bool)? in
            artifact.reference[feature.name].map { (feature.name, $0, feature.type == .categorical) }
        }
        if let prediction = artifact.predictionReference {
            list.append(("", prediction, artifact.classes != nil))
        }
        return list
    }

    /// The bins SQL sorts values into, as `json_to_recordset` reads them.
    var binSpecs: [[String: JSONScalar]] {
        monitored.map { name, statistics, categorical in
            var spec: [String: JSONScalar] = [
                "version": .string(artifact.version), "feature": .string(name), "numeric": .bool(!categorical),
            ]
            if !categorical, let histogram = DriftAnalysis.histogram(of: statistics) {
                spec["edges"] = .numbers(histogram.edges)
                spec["lo"] = .number(statistics.min ?? -Double.greatestFiniteMagnitude)
                spec["hi"] = .number(statistics.max ?? Double.greatestFiniteMagnitude)
            }
            return spec
        }
    }
}

/// The few JSON shapes the bin specs need (encoded for a `::json` parameter).
enum JSONScalar: Encodable, Sendable {
    case string(String)
    case bool(Bool)
    case number(Double)
    case numbers([Double])

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .numbers(let value): try container.encode(value)
        }
    }
}
