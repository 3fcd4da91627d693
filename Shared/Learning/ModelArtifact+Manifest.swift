import Foundation

extension ModelArtifact {
    /// A newly trained model's artifact: name, task, algorithm, parameters and target from
    /// the manifest, no version yet (the pipeline names it), trained now.
    public init(
        trainedFor manifest: Manifest, features: [FeatureSpec], classes: [String]? = nil, predictor: Predictor,
        forecast: ForecastModel? = nil, metrics: [String: Double], confusionMatrix: [[Int]]? = nil,
        reference: [String: FeatureStatistics], predictionReference: FeatureStatistics? = nil,
        targetReference: FeatureStatistics? = nil, importance: [String: Double]? = nil
    ) {
        self.init(
            name: manifest.name, version: "", task: manifest.task, algorithm: manifest.model.algorithm,
            params: manifest.model.params ?? [:], target: manifest.target, features: features, classes: classes,
            predictor: predictor, forecast: forecast, metrics: metrics, confusionMatrix: confusionMatrix,
            reference: reference, predictionReference: predictionReference, targetReference: targetReference,
            importance: importance, trainedAt: Date())
    }
}
