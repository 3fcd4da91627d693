import Learning

/// The verdict of one gate on a trained model.
public struct GateResult: Codable, Sendable, Equatable {
    public let gate: String
    public let metric: String
    public let value: Double
    public let threshold: Double
    public let passed: Bool
    public let detail: String
}
