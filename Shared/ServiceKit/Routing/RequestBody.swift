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
