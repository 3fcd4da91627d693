/// What a prediction token allows: asking for predictions (`POST /predict`, the v2 `infer` route
/// over HTTP and gRPC `ModelInfer`) and sending ground truth (`POST /feedback`).
enum TokenScope: String, Sendable, CaseIterable, Codable {
    case predict
    case feedback
}
