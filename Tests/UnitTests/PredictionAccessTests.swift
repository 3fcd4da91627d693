import Crypto
import Foundation
import Testing

@testable import ServingService

/// The token check on its own: what `PREDICT_AUTH=off` never refuses, a tiny rate that must not
/// overflow `Retry-After`, a 429 that is not a use, and required tokens before they were read.
@Suite("Prediction access")
struct PredictionAccessTests {
    static func token(_ name: String, secret: String, rate: Double? = nil) -> PredictionToken {
        PredictionToken(
            name: name, hash: Array(SHA256.hash(data: Array(secret.utf8))), models: ["shapes"], scopes: [.predict],
            expiresAt: nil, revokedAt: nil, ratePerSecond: rate)
    }

    @Test("a tiny rate limit: the second request is a 429 with Retry-After capped at a day, and no use is stamped")
    func tinyRate() throws {
        let access = PredictionAccess(required: true)
        access.replace([Self.token("slow", secret: "cvt_slow", rate: 1e-20)])
        #expect(try access.check(authorization: "Bearer cvt_slow", model: "shapes", scope: .predict) == "slow")
        #expect(access.takeUses().keys.sorted() == ["slow"])
        do {
            _ = try access.check(authorization: "bearer cvt_slow", model: "shapes", scope: .predict)
            Issue.record("the second request was answered")
        } catch {
            #expect(error.reason == .rateLimited && error.retryAfter == 86_400 && error.status == .tooManyRequests)
        }
        #expect(access.takeUses().isEmpty, "a refused request is not a use")
    }

    @Test("PREDICT_AUTH=off refuses nothing: no token, a bad one, another model's, one over its limit")
    func offRefusesNothing() throws {
        let access = PredictionAccess(required: false)
        #expect(access.isReady)
        access.replace([Self.token("limited", secret: "cvt_limited", rate: 0.001)])
        for header in [nil, "Basic eDp5", "Bearer cvt_unknown", "Bearer cvt_limited", "Bearer cvt_limited"] {
            _ = try access.check(authorization: header, model: "shapes", scope: .predict)
        }
        #expect(try access.check(authorization: "Bearer cvt_limited", model: "other", scope: .predict) == nil)
    }

    @Test("required tokens before they were read: 503, and readiness says so")
    func notLoaded() throws {
        let access = PredictionAccess(required: true)
        #expect(!access.isReady)
        do {
            _ = try access.check(authorization: "Bearer cvt_x", model: "shapes", scope: .predict)
            Issue.record("answered before the tokens were read")
        } catch {
            #expect(error.reason == .notLoaded && error.status == .serviceUnavailable)
        }
        access.replace([])
        #expect(access.isReady)
    }
}
