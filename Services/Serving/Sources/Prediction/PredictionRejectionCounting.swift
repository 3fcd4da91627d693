import Hummingbird

/// Counts what the prediction routes refuse (`PredictionRejections`), around
/// every transport's handler: a refusal is counted however early it happened
/// (a body too large, JSON that does not parse, a feature out of range).
struct PredictionRejectionCounting<Context: RequestContext>: RouterMiddleware {
    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        try await PredictionRejections.counting { try await next(request, context) }
    }
}
