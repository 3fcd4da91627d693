import HTTPTypes

/// Why a request was refused a prediction: the reason names which check failed (and labels
/// `conveyor_prediction_auth_refusals_total`); the message never holds the token.
struct AccessRefusal: Error, Sendable, Equatable {
    enum Reason: String, Sendable, CaseIterable {
        case missing, unknown, revoked, expired
        /// The token does not allow this model.
        case model
        /// The token does not allow this kind of request (predict, feedback).
        case scope
        /// Over the token's `rate_limit_per_second`.
        case rateLimited = "rate_limited"
        /// The replica has not read the tokens yet (Postgres was not reachable since it started).
        case notLoaded = "not_loaded"
    }

    let reason: Reason
    let message: String
    /// For `rateLimited`: seconds until a request would be allowed.
    var retryAfter: Int? = nil

    /// 401 when the caller is not known, 403 when it is but may not do this, 429 when too fast,
    /// 503 before the tokens were read.
    var status: HTTPResponse.Status {
        switch reason {
        case .missing, .unknown, .revoked, .expired: .unauthorized
        case .model, .scope: .forbidden
        case .rateLimited: .tooManyRequests
        case .notLoaded: .serviceUnavailable
        }
    }
}
