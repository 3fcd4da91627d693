/// Why a model cannot explain its predictions (answered as a 422 naming the format).
public struct ExplanationUnavailable: Error, Sendable, Equatable, CustomStringConvertible {
    /// The model's format or kind, as a user knows it (`random_forest`, `onnx`, `python`…).
    public let format: String
    public let reason: String

    public init(format: String, reason: String) {
        self.format = format
        self.reason = reason
    }

    public var description: String { "explanations are not available for \(format) models: \(reason)" }
}
