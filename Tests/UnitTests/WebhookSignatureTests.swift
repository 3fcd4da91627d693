import Foundation
import Testing

@testable import ServiceKit

@Suite("Webhook signatures")
struct WebhookSignatureTests {
    static let signature = WebhookSignature(secret: "s3cret")
    static let body = Array(#"{"zen": "hi"}"#.utf8)

    @Test("the header GitHub would send is valid; any other body or secret is not")
    func roundTrip() {
        let header = Self.signature.header(for: Self.body)
        #expect(Self.signature.isValid(header, body: Self.body))
        #expect(!Self.signature.isValid(header, body: Array("{}".utf8)))
        #expect(!WebhookSignature(secret: "other").isValid(header, body: Self.body))
        #expect(!Self.signature.isValid(nil, body: Self.body))
    }

    @Test(
        "hex is exactly 64 lowercase digits: signs, upper case, spaces and wrong lengths are refused",
        arguments: [
            { (hex: String) in "+" + hex.dropFirst() }, { $0.uppercased() }, { " " + $0.dropFirst() },
            { String($0.dropLast()) }, { $0 + "0" }, { "-" + $0.dropFirst() },
        ] as [@Sendable (String) -> String])
    func strictHex(_ mangle: @Sendable (String) -> String) {
        let hex = String(Self.signature.header(for: Self.body).dropFirst(7))
        #expect(WebhookSignature.bytes(hex: Substring(hex))?.count == 32)
        let mangled = mangle(hex)
        #expect(WebhookSignature.bytes(hex: Substring(mangled)) == nil, "\(mangled)")
        #expect(!Self.signature.isValid("sha256=" + mangled, body: Self.body))
    }

    @Test("a leading sign on a byte whose hex starts with 0 is not the byte")
    func signNotZero() {
        let hex = String(repeating: "0a", count: 32)
        #expect(WebhookSignature.bytes(hex: Substring(hex)) == Array(repeating: 10, count: 32))
        #expect(WebhookSignature.bytes(hex: Substring("+a" + hex.dropFirst(2))) == nil)
    }
}
