import Foundation

/// A prediction token as serving holds it: its name, the SHA-256 of its secret (the secret itself
/// is shown once, when it is created, and stored nowhere), the models and scopes it allows, when
/// it expires or was revoked, and its optional rate limit.
struct PredictionToken: Sendable, Equatable {
    let name: String
    /// SHA-256 of the secret, 32 bytes.
    let hash: [UInt8]
    /// Model names, or `*` for every model.
    let models: [String]
    let scopes: [TokenScope]
    let expiresAt: Date?
    let revokedAt: Date?
    /// Requests per second allowed to this token on each replica (nil: no limit).
    let ratePerSecond: Double?

    /// Whether it allows `model`.
    func allows(model: String) -> Bool { models.contains("*") || models.contains(model) }
}
