import HTTPTypes
import Hummingbird
import Metrics
import Synchronization

/// `conveyor_prediction_rejections_total{reason}`: prediction requests
/// (`POST /predict`, `POST /v2/models/{name}/infer`, gRPC `ModelInfer`) answered with an error,
/// by why: `malformed` (400: not JSON, wrong shape), `too_large` (413),
/// `unsupported_type` (415), `invalid_input` (422: a feature missing, out of
/// range, of the wrong type…), `no_model` (503), `not_found` (404: another
/// model's name) or `other`.
enum PredictionRejections {
    /// Requests this replica answered and refused since it started (the dashboard's 4xx share).
    static let answered = Atomic<Int>(0)
    static let refused = Atomic<Int>(0)

    /// Runs `handler`, counting the error it throws (rethrown unchanged).
    static func counting(_ handler: () async throws -> Response) async throws -> Response {
        do {
            let response = try await handler()
            if response.status.code < 400 {
                answered.add(1, ordering: .relaxed)
            } else if response.status.code < 500 {
                refused.add(1, ordering: .relaxed)
            }
            return response
        } catch let error as any HTTPResponseError {
            record(error.status)
            throw error
        }
    }

    /// Counts a request refused with `status` (gRPC maps its statuses onto these).
    static func record(_ status: HTTPResponse.Status) {
        if (400..<500).contains(status.code) { refused.add(1, ordering: .relaxed) }
        Counter(label: "conveyor_prediction_rejections_total", dimensions: [("reason", reason(status))]).increment()
    }

    static func reason(_ status: HTTPResponse.Status) -> String {
        switch status.code {
        case 400: "malformed"
        case 404: "not_found"
        case 413: "too_large"
        case 415: "unsupported_type"
        case 422: "invalid_input"
        case 503: "no_model"
        default: "other"
        }
    }

    /// Creates every series at zero, so an alert on their rate works from the first scrape.
    static func declare() {
        for reason in ["malformed", "not_found", "too_large", "unsupported_type", "invalid_input", "no_model", "other"]
        {
            Counter(label: "conveyor_prediction_rejections_total", dimensions: [("reason", reason)]).increment(by: 0)
        }
    }
}
