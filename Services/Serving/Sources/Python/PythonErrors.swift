import Learning
import ServiceKit

/// A Python model's failures as HTTP answers: its code raised (500, naming the
/// exception; the traceback is in the log with the request id), its worker
/// died (503: replaced, the next request is answered), it overran
/// `PYTHON_PREDICT_TIMEOUT` (504: the worker was killed and replaced), or every
/// worker stayed busy (503).
enum PythonErrors {
    /// Runs `body`, turning the pool's errors into API errors.
    static func mapped<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as PythonWorkerError {
            throw apiError(error)
        } catch let busy as PoolBusy {
            throw APIError(.serviceUnavailable, "the Python model is busy: \(busy)")
        }
    }

    static func apiError(_ error: PythonWorkerError) -> APIError {
        switch error {
        case .raised(let type, let message, let function, _):
            APIError(.internalServerError, "the model's \(function ?? "code") raised \(type): \(message)")
        case .died(let why):
            APIError(
                .serviceUnavailable,
                "the Python worker answering this request died (\(why.prefix(300))); it is being replaced, retry")
        case .timedOut(let seconds):
            APIError(
                .gatewayTimeout,
                "the model gave no answer within \(seconds) s (PYTHON_PREDICT_TIMEOUT); its worker was replaced")
        case .cannotStart(let why):
            APIError(.serviceUnavailable, "no Python worker could start: \(why.prefix(300))")
        case .badAnswer(let why):
            APIError(.internalServerError, "the Python worker answered badly: \(why.prefix(300))")
        }
    }
}
