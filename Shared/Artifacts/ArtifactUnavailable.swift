/// A version that cannot be had from the object store now: not complete
/// there (an upload still running or abandoned), a file that does not match
/// its completion record, or the store out of reach. The reason names which.
public struct ArtifactUnavailable: Error, CustomStringConvertible, Sendable {
    /// The version's path (`name/version`).
    public let path: String
    public let reason: String
    /// Whether the store could not be reached (rather than answering without the version).
    public let storeUnreachable: Bool

    public var description: String { "artifact \(path): \(reason)" }
}
