import Hummingbird

extension Request {
    /// The whole body, up to `limit` bytes: a 413 beyond it; a 400 when the
    /// body cannot be read (a malformed chunked body, a client that went away).
    /// An over-limit `Content-Length` was already answered by `ErrorMiddleware`.
    public func collectBody(upTo limit: Int) async throws -> ByteBuffer {
        do {
            return try await body.collect(upTo: limit)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw APIError(.contentTooLarge, "the body is larger than \(limit) bytes")
        } catch {
            throw APIError(.badRequest, "the body could not be read: \(error)")
        }
    }
}
