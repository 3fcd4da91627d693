import Crypto
import Foundation

/// GitHub's `X-Hub-Signature-256`: `sha256=` and the hex HMAC-SHA256 of the
/// raw body keyed with the webhook secret.
public struct WebhookSignature: Sendable {
    private let key: SymmetricKey

    public init(secret: String) {
        key = SymmetricKey(data: Data(secret.utf8))
    }

    /// The header value GitHub would send for `body`.
    public func header(for body: some DataProtocol) -> String {
        "sha256=" + HMAC<SHA256>.authenticationCode(for: body, using: key).map { String(format: "%02x", $0) }.joined()
    }

    /// Whether `header` is a valid signature of `body`, compared in constant time.
    public func isValid(_ header: String?, body: some DataProtocol) -> Bool {
        guard let header, header.hasPrefix("sha256="), let code = Self.bytes(hex: header.dropFirst(7)) else {
            return false
        }
        return HMAC<SHA256>.isValidAuthenticationCode(code, authenticating: body, using: key)
    }

    private static func bytes(hex: Substring) -> [UInt8]? {
        guard hex.count == 64 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        return bytes
    }
}
