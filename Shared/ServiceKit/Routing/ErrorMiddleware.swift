import Hummingbird
import Logging
import Postgres

/// Turns every error a route throws into a JSON answer, and logs each 5xx
/// with its cause and the request id (a 5xx is a defect or an outage, never
/// silent). A path that exists with another method is a 405 naming the
/// allowed ones, not a 404. A `Content-Length` over the route's largest
/// accepted body (the service's default, or the route's own `maxBodyBytes`)
/// is a 413 at once, before the body is read (checked here, not in a
/// middleware of its own: one layer fewer on every request; the route is
/// looked up only for a body over the default).
public struct ErrorMiddleware: RouterMiddleware {
    public typealias Context = AppRequestContext
    let catalog: RouteCatalog
    let maxBodyBytes: Int

    public init(catalog: RouteCatalog, maxBodyBytes: Int) {
        self.catalog = catalog
        self.maxBodyBytes = maxBodyBytes
    }

    public func handle(
        _ request: Request, context: AppRequestContext,
        next: (Request, AppRequestContext) async throws -> Response
    ) async throws -> Response {
        do {
            if let length = request.headers[.contentLength].flatMap(Int.init), length > maxBodyBytes {
                let limit = catalog.bodyLimit(method: request.method, path: request.uri.path) ?? maxBodyBytes
                if length > limit { throw APIError(.contentTooLarge, "the body is larger than \(limit) bytes") }
            }
            return try await next(request, context)
        } catch let error as APIError {
            if error.status.code >= 500 {
                context.logger.error(
                    "request failed", metadata: ["status": "\(error.status.code)", "error": "\(error.message)"])
            }
            throw error
        } catch let error as HTTPError {
            if error.status == .notFound {
                let allowed = catalog.methods(matching: request.uri.path)
                if !allowed.isEmpty, !allowed.contains(request.method) {
                    var response = try APIError(
                        .methodNotAllowed,
                        "\(request.method.rawValue) is not allowed on \(request.uri.path); allowed: "
                            + allowed.map(\.rawValue).joined(separator: ", ")
                    ).response(from: request, context: context)
                    response.headers[.allow] = allowed.map(\.rawValue).joined(separator: ", ")
                    return response
                }
            }
            if error.status.code >= 500 {
                context.logger.error(
                    "request failed", metadata: ["status": "\(error.status.code)", "error": "\(error)"])
            }
            throw APIError(error.status, error.body ?? error.status.reasonPhrase)
        } catch let error as PostgresError where error.code == .connection || error.code == .shutdown {
            context.logger.error("database unavailable", metadata: ["error": "\(error)"])
            throw APIError(.serviceUnavailable, "the database is unavailable; try again shortly")
        } catch {
            context.logger.error("request failed", metadata: ["status": "500", "error": "\(error)"])
            throw APIError(.internalServerError, "internal error (request \(context.requestID)); it has been logged")
        }
    }
}
