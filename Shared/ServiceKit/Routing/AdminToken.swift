import Hummingbird

/// Guards state-changing admin routes with `Authorization: Bearer $ADMIN_TOKEN`.
public struct AdminToken: Sendable {
    private let token: String?

    /// `nil` or empty disables admin routes entirely (they answer 403).
    public init(_ token: String?) {
        self.token = token?.isEmpty == false ? token : nil
    }

    /// Throws 401/403 unless the request carries the token.
    public func authorize(_ request: Request) throws {
        guard let token else {
            throw APIError(.forbidden, "admin routes are disabled: ADMIN_TOKEN is not set")
        }
        // The scheme is case-insensitive (RFC 7235 §2.1); the token is not.
        guard let header = request.headers[.authorization], header.utf8.count > 7,
            header.prefix(7).lowercased() == "bearer "
        else {
            throw APIError(.unauthorized, "Authorization: Bearer <ADMIN_TOKEN> is required")
        }
        guard ConstantTime.equal(Array(header.dropFirst(7).utf8), Array(token.utf8)) else {
            throw APIError(.unauthorized, "the admin token is wrong")
        }
    }
}
