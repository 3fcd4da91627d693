import Hummingbird
import ServiceKit

/// The Open Inference Protocol's error shape, `{"error": message}` (plus
/// Conveyor's `problems` naming each field), for the routes of a named model:
/// its clients read only `error`, so the message names the first problems.
struct InferenceProtocolErrors<Context: RequestContext>: RouterMiddleware {
    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            var response = try JSONResponse.make(
                InferenceMessages.ProtocolError(error: ProtocolInference.message(error), problems: error.problems),
                status: error.status)
            for field in error.headers { response.headers.append(field) }
            return response
        }
    }
}
