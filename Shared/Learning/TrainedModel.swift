import Foundation

/// What training produced, before it becomes an artifact.
public struct TrainedModel: Sendable {
    public var features: [FeatureSpec]
    public var classes: [String]?
    public var predictor: Predictor
    public var forecast: ForecastModel?
    /// Test-set metrics (only finite values).
    public var metrics: [String: Double]
    public var confusionMatrix: [[Int]]?
    public var reference: [String: FeatureStatistics]
    /// Predictions on the test split, and the training target (see `ModelArtifact`).
    public var predictionReference: FeatureStatistics?
    public var targetReference: FeatureStatistics?
    public var trainRows: Int
    public var testRows: Int
    /// Each input's mean |contribution| on the test split (see `ModelArtifact.importance`).
    public var importance: [String: Double]? = nil
}
