import Foundation
import ObjectStore

/// Where the artifacts live, read once from the environment: `ARTIFACTS_URL`
/// (`file:///path` or `s3://bucket/prefix`; `ARTIFACTS_DIR` is the `file://`
/// form's older spelling), the object store's `S3_ENDPOINT`, `S3_REGION`,
/// `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` (never logged), and the
/// local copies' directory (`ARTIFACTS_CACHE_DIR`) and bound (`ARTIFACTS_CACHE_BYTES`).
public struct ArtifactSettings: Sendable, CustomStringConvertible {
    public let location: ArtifactLocation
    /// The object store's endpoint and credentials (nil with `file://`).
    public let s3: S3Settings?
    /// Where local copies of versions are kept (with `s3://`).
    public let cacheDirectory: URL
    /// The most the local copies may take before the least recently used go (never the live or previous one).
    public let cacheBytes: Int64

    public init(location: ArtifactLocation, s3: S3Settings?, cacheDirectory: URL, cacheBytes: Int64 = 10 << 30) {
        self.location = location
        self.s3 = s3
        self.cacheDirectory = cacheDirectory
        self.cacheBytes = cacheBytes
    }

    /// Reads the settings through `value` (every name is read, whichever form is used, so a
    /// deployment's variables can be checked against what the service reads).
    public static func read(_ value: (String) -> String?, defaultCache: URL) throws(ObjectStoreConfigurationError)
        -> ArtifactSettings
    {
        var environment: [String: String] = [:]
        for name in [
            "ARTIFACTS_URL", "ARTIFACTS_DIR", "S3_ENDPOINT", "S3_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
            "ARTIFACTS_CACHE_DIR", "ARTIFACTS_CACHE_BYTES",
        ] {
            if let text = value(name) { environment[name] = text }
        }
        let location = try ArtifactLocation(environment: environment)
        let s3: S3Settings? =
            switch location {
            case .file: nil
            case .s3: try S3Settings(environment: environment)
            }
        var cacheBytes: Int64 = 10 << 30
        if let text = environment["ARTIFACTS_CACHE_BYTES"] {
            guard let bytes = Int64(text), bytes > 0 else {
                throw ObjectStoreConfigurationError(
                    variable: "ARTIFACTS_CACHE_BYTES", problem: "expected a positive number of bytes")
            }
            cacheBytes = bytes
        }
        let cache =
            environment["ARTIFACTS_CACHE_DIR"].map { URL(fileURLWithPath: $0, isDirectory: true) } ?? defaultCache
        return ArtifactSettings(location: location, s3: s3, cacheDirectory: cache, cacheBytes: cacheBytes)
    }

    public var description: String { location.description }

    /// The directory versions are read from: the store itself with `file://`, else the local copies.
    public var localDirectory: URL {
        if case .file(let directory) = location { return directory }
        return cacheDirectory
    }
}
