import Foundation

/// Where model artifacts live: a local (or shared) directory, or an object store.
/// Read from `ARTIFACTS_URL` (`file:///path` or `s3://bucket/prefix`), or from
/// `ARTIFACTS_DIR`, the `file://` form's older spelling.
public enum ArtifactLocation: Sendable, Hashable, CustomStringConvertible {
    /// A directory on this machine's file system.
    case file(URL)
    /// A bucket and prefix in S3-compatible object storage.
    case s3(S3Location)

    /// Parses `file:///absolute/path`, an absolute path, or `s3://bucket/prefix`;
    /// `variable` names the setting in errors.
    public init(parsing text: String, variable: String = "ARTIFACTS_URL") throws(ObjectStoreConfigurationError) {
        if text.hasPrefix("s3://") {
            self = .s3(try S3Location(parsing: text, variable: variable))
        } else if text.hasPrefix("/") {
            self = .file(URL(fileURLWithPath: text, isDirectory: true))
        } else if text.hasPrefix("file://") {
            guard let url = URL(string: text), url.host == nil || url.host == "" || url.host == "localhost",
                url.query == nil, url.path.hasPrefix("/")
            else {
                throw ObjectStoreConfigurationError(
                    variable: variable, problem: "expected file:///absolute/path (three slashes, no host)")
            }
            self = .file(URL(fileURLWithPath: url.path, isDirectory: true))
        } else {
            throw ObjectStoreConfigurationError(
                variable: variable, problem: "expected file:///absolute/path or s3://bucket/prefix")
        }
    }

    /// `ARTIFACTS_URL` if set, else `ARTIFACTS_DIR`, else `fallback`; an error
    /// naming both variables when none is there.
    public init(
        environment: [String: String] = ProcessInfo.processInfo.environment, fallback: ArtifactLocation? = nil
    ) throws(ObjectStoreConfigurationError) {
        if let url = environment["ARTIFACTS_URL"], !url.isEmpty {
            self = try ArtifactLocation(parsing: url, variable: "ARTIFACTS_URL")
        } else if let directory = environment["ARTIFACTS_DIR"], !directory.isEmpty {
            guard directory.hasPrefix("/") || directory.hasPrefix("file://") else {
                throw ObjectStoreConfigurationError(variable: "ARTIFACTS_DIR", problem: "expected an absolute path")
            }
            self = try ArtifactLocation(parsing: directory, variable: "ARTIFACTS_DIR")
        } else if let fallback {
            self = fallback
        } else {
            throw ObjectStoreConfigurationError(
                variable: "ARTIFACTS_URL",
                problem: "not set: file:///path or s3://bucket/prefix (or ARTIFACTS_DIR=/path)")
        }
    }

    public var description: String {
        switch self {
        case .file(let directory): "file://\(directory.path)"
        case .s3(let location): location.description
        }
    }
}
