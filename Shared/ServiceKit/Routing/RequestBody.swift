import Hummingbird

extension Request {
    /// The whole body, up to `limit` bytes: a 413 beyond it, before anything
    /// is read when `Content-Length` already says so; a 400 when the body
    /// cannot be read (a malformed chunked body, a client that went away).
    public func collectBody(upTo limit: Int) async throws -> ByteBuffer {
        if let length = headers[.contentLength].flatMap(Int.init), length > limit {
            throw APIError(.contentTooLarge, "the body is larger than \(limit) bytes")
        }
        do {
            return try await body.collect(upTo: limit)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw APIError(.contentTooLarge, "the body is larger than \(limit) bytes")
        } catch {
            throw APIError(.badRequest, "the body could not be read: \(error)")
        }
    }
}

/// Answers a request whose `Content-Length` exceeds the service's largest
/// accepted body with 413 at once, without waiting for (or reading) the body.
public struct BodyLimitMiddleware: RouterMiddleware {
    public typealias Context = AppRequestContext
    let limit: Int

    public init(limit: Int) {
        self.limit = limit
    }

    public func handle(
        _ request: Request, context: AppRequestContext,
        next: (Request, AppRequestContext) async throws -> Response
    ) async throws -> Response {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw APIError(.contentTooLarge, "the body is larger than \(limit) bytes")
        }
        return try await next(request, context)
    }
}
