import Hummingbird
import ServiceKit

/// The access check of the prediction routes (`POST /predict`, `POST /feedback`, the v2 `infer`
/// route, under `/models/{name}/` too): the bearer token must allow `scope` on the model the
/// route names (or the only one served); the answer's caller is
/// set for the prediction log. A refusal is a JSON error naming its reason (`authorization`),
/// in the route's error shape (the v2 routes' middleware reshapes it), with `Retry-After` when
/// rate limited.
struct PredictionAuthentication: RouterMiddleware {
    typealias Context = AppRequestContext

    let access: PredictionAccess
    let scope: TokenScope
    /// The models served: a request is for the one its path names, or the only one.
    let store: ModelStore

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        let caller: String?
        // The name the path gives, else the only model's. An unprefixed route with several models
        // live has no model to check a token against: its 409 naming them comes first.
        let named = context.parameters.get("name") ?? store.onlyLiveName
        if named == nil, store.liveCount > 1 { _ = try await store.resolve(nil) }
        let model = named ?? ""
        do {
            caller = try access.check(authorization: request.headers[.authorization], model: model, scope: scope)
        } catch {
            throw Self.apiError(error)
        }
        guard let caller else { return try await next(request, context) }
        return try await PredictionCaller.$tokenName.withValue(caller) { try await next(request, context) }
    }

    /// The refusal as an HTTP error naming the reason in `authorization`.
    static func apiError(_ refusal: AccessRefusal) -> APIError {
        var error = APIError(
            refusal.status, refusal.message,
            problems: [FieldProblem(field: "authorization", problem: refusal.reason.rawValue)])
        if let retryAfter = refusal.retryAfter { error.headers[.retryAfter] = String(retryAfter) }
        if refusal.status == .unauthorized { error.headers[.wwwAuthenticate] = "Bearer" }
        return error
    }
}
