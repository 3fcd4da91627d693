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

/// Comparisons whose duration does not depend on where the inputs differ.
public enum ConstantTime {
    /// Compares two byte strings in time proportional to their length only.
    public static func equal(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        var difference = UInt8(lhs.count == rhs.count ? 0 : 1)
        let length = max(lhs.count, rhs.count)
        for index in 0..<length {
            let left = index < lhs.count ? lhs[index] : 0
            let right = index < rhs.count ? rhs[index] : 0
            difference |= left ^ right
        }
        return difference == 0
    }
}
