import Foundation
import Learning
import Metrics
import Registry
import ServiceKit
import Synchronization

/// A deployed model ready to answer, with what `GET /` shows about it.
public struct LoadedModel: Sendable {
    public let artifact: ModelArtifact
    public let encoder: FeatureEncoder
    public let deployment: DeploymentRecord
    /// The model's name (its repository's `conveyor.yaml` names it): what `/models/{name}/…` routes use.
    public var name: String { deployment.modelName }
    /// Names of numeric features: a JSON string there is a type error, not a value.
    let numericFeatures: Set<String>
    /// `conveyor_predictions_total{model_version=…}`, made once per model rather than per request.
    let predictions: Counter
    /// A Python model's workers (nil for every other format); they stop when the last request
    /// holding this model is answered after a swap.
    let python: PythonWorkerPool?
    /// How its predictions are explained (`explain`), or why they cannot be; built once per load.
    let explainer: Result<ModelExplainer, ExplanationUnavailable>

    public init(artifact: ModelArtifact, deployment: DeploymentRecord) {
        self.init(artifact: artifact, deployment: deployment, python: nil)
    }

    init(artifact: ModelArtifact, deployment: DeploymentRecord, python: PythonWorkerPool?) {
        self.python = python
        self.artifact = artifact
        self.encoder = artifact.encoder
        self.deployment = deployment
        self.numericFeatures = Set(artifact.features.filter { $0.type == .numeric }.map(\.name))
        self.explainer = Result { () throws(ExplanationUnavailable) in try ModelExplainer(artifact) }
        self.predictions = Counter(
            label: "conveyor_predictions_total", dimensions: [("model_version", deployment.version)])
    }
}
