import Crypto
import Foundation
import Metrics
import ServiceKit
import Synchronization

/// Who may ask which model for what (`PREDICT_AUTH=token`): the tokens serving knows (replaced
/// whole when the table changes, see `TokenRegistry`), checked per request by the SHA-256 of the
/// bearer secret, compared in constant time; each use remembered (for `last_used_at`, written in
/// batches) and, for tokens with a rate limit, metered by a token bucket on this replica.
final class PredictionAccess: Sendable {
    /// Whether requests need a token at all (`PREDICT_AUTH=token`).
    let required: Bool

    private struct State {
        var byHash: [[UInt8]: PredictionToken] = [:]
        /// Last use per token name since the last flush.
        var used: [String: Date] = [:]
        /// Token buckets per name: tokens left and when they were counted.
        var buckets: [String: (tokens: Double, at: ContinuousClock.Instant)] = [:]
        /// Whether the tokens were read at least once (before that, required tokens cannot be checked).
        var loaded = false
    }

    private let state = Mutex(State())
    private let refusals: [AccessRefusal.Reason: Counter]

    init(required: Bool) {
        self.required = required
        refusals = Dictionary(
            uniqueKeysWithValues: AccessRefusal.Reason.allCases.map {
                ($0, Counter(label: "conveyor_prediction_auth_refusals_total", dimensions: [("reason", $0.rawValue)]))
            })
    }

    /// Replaces the known tokens.
    func replace(_ tokens: [PredictionToken]) {
        let byHash = Dictionary(tokens.map { ($0.hash, $0) }) { first, _ in first }
        state.withLock {
            $0.byHash = byHash
            $0.loaded = true
        }
    }

    /// Whether requests can be checked: tokens are not required, or they were read.
    var isReady: Bool { !required || state.withLock { $0.loaded } }

    /// The longest `Retry-After` given, in seconds (a tiny rate must not overflow it).
    static let maxRetryAfter = 86_400.0

    /// The name of the token `authorization` carries, if it allows `scope` on `model`; otherwise
    /// the refusal (counted). When tokens are not required nothing is refused (nil: no good token).
    func check(authorization: String?, model: String, scope: TokenScope, now: Date = Date()) throws(AccessRefusal)
        -> String?
    {
        // Without PREDICT_AUTH=token a token is optional: a good one names the caller in the log.
        guard required else { return try? decide(authorization: authorization, model: model, scope: scope, now: now) }
        do {
            return try decide(authorization: authorization, model: model, scope: scope, now: now)
        } catch {
            refusals[error.reason]?.increment()
            throw error
        }
    }

    private func decide(authorization: String?, model: String, scope: TokenScope, now: Date) throws(AccessRefusal)
        -> String?
    {
        guard let authorization, !authorization.isEmpty else {
            throw AccessRefusal(
                reason: .missing, message: "a prediction token is required: Authorization: Bearer <token>")
        }
        if required, !state.withLock({ $0.loaded }) {
            throw AccessRefusal(
                reason: .notLoaded, message: "the prediction tokens are not loaded yet; try again shortly")
        }
        guard let secret = Self.bearerSecret(authorization) else {
            throw AccessRefusal(reason: .missing, message: "the Authorization header must be Bearer <token>")
        }
        let hash = Array(SHA256.hash(data: secret))
        // One lock a request: the lookup, the use and the rate limit's bucket (measured: a lock for
        // each cost a visible share of a one-row /predict).
        let clock = ContinuousClock.now
        let verdict: (token: PredictionToken?, wait: Double?) = state.withLock { state in
            guard let token = state.byHash[hash] else { return (nil, nil) }
            guard token.revokedAt == nil, token.expiresAt.map({ $0 > now }) ?? true, token.allows(model: model),
                token.scopes.contains(scope)
            else { return (token, nil) }
            guard let rate = token.ratePerSecond, rate > 0 else {
                state.used[token.name] = now
                return (token, nil)
            }
            let burst = max(1, rate)
            var bucket = state.buckets[token.name] ?? (burst, clock)
            let elapsed = clock - bucket.at
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            bucket = (min(burst, bucket.tokens + seconds * rate), clock)
            defer { state.buckets[token.name] = bucket }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                state.used[token.name] = now  // a use is a request answered, not one refused with 429
                return (token, nil)
            }
            return (token, min(Self.maxRetryAfter, (1 - bucket.tokens) / rate))
        }
        // The table is keyed by the hash of a 256-bit secret; the bytes are compared again in constant time.
        guard let token = verdict.token, ConstantTime.equal(token.hash, hash) else {
            throw AccessRefusal(reason: .unknown, message: "the prediction token is not known")
        }
        if token.revokedAt != nil {
            throw AccessRefusal(reason: .revoked, message: "the prediction token \"\(token.name)\" was revoked")
        }
        if let expiresAt = token.expiresAt, expiresAt <= now {
            throw AccessRefusal(reason: .expired, message: "the prediction token \"\(token.name)\" has expired")
        }
        guard token.allows(model: model) else {
            throw AccessRefusal(
                reason: .model, message: "the prediction token \"\(token.name)\" does not allow the model \"\(model)\"")
        }
        guard token.scopes.contains(scope) else {
            throw AccessRefusal(
                reason: .scope, message: "the prediction token \"\(token.name)\" does not allow \(scope.rawValue)")
        }
        if let wait = verdict.wait {
            throw AccessRefusal(
                reason: .rateLimited,
                message:
                    "the prediction token \"\(token.name)\" is over its limit of \(token.ratePerSecond ?? 0) requests a second",
                retryAfter: max(1, Int(wait.rounded(.up))))
        }
        return token.name
    }

    /// The secret of `Bearer <secret>` (the scheme is case-insensitive, RFC 7235), without copying
    /// the header; nil for another scheme or an empty secret.
    static func bearerSecret(_ header: String) -> [UInt8]? {
        let bytes = header.utf8
        guard bytes.count > 7 else { return nil }
        var index = bytes.startIndex
        for expected in "bearer ".utf8 {
            let byte = bytes[index]
            guard byte == expected || (expected >= 97 && expected <= 122 && byte == expected - 32) else { return nil }
            index = bytes.index(after: index)
        }
        return Array(bytes[index...])
    }

    /// The uses since the last call (token name → last use), cleared.
    func takeUses() -> [String: Date] {
        state.withLock { state in
            defer { state.used = [:] }
            return state.used
        }
    }
}
