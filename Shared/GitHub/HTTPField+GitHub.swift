import HTTPTypes

/// The header fields GitHub's REST API and webhooks use, named once.
extension HTTPField.Name {
    /// `X-Hub-Signature-256`: `sha256=` and the HMAC of a webhook body.
    public static let xHubSignature256 = HTTPField.Name("X-Hub-Signature-256")!
    /// `X-GitHub-Event`: the webhook's event name.
    public static let xGitHubEvent = HTTPField.Name("X-GitHub-Event")!
    /// `X-GitHub-Delivery`: the webhook delivery's unique id.
    public static let xGitHubDelivery = HTTPField.Name("X-GitHub-Delivery")!
    /// `X-RateLimit-Limit`: requests allowed per window.
    public static let xRateLimitLimit = HTTPField.Name("X-RateLimit-Limit")!
    /// `X-RateLimit-Remaining`: requests left in the window.
    public static let xRateLimitRemaining = HTTPField.Name("X-RateLimit-Remaining")!
    /// `X-RateLimit-Reset`: when the window resets (Unix seconds).
    public static let xRateLimitReset = HTTPField.Name("X-RateLimit-Reset")!
    /// `Link`: pagination (RFC 8288).
    public static let link = HTTPField.Name("Link")!
}
