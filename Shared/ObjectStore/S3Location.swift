/// A place in an object store: a bucket and a key prefix, written `s3://bucket/prefix`.
public struct S3Location: Sendable, Hashable, CustomStringConvertible {
    /// The bucket's name (3 to 63 lowercase letters, digits, dots and hyphens).
    public let bucket: String
    /// The key prefix, without leading or trailing slashes; empty for the whole bucket.
    public let prefix: String

    /// A location from its parts; `variable` names the setting in errors.
    public init(bucket: String, prefix: String = "", variable: String = "ARTIFACTS_URL")
        throws(ObjectStoreConfigurationError)
    {
        if let problem = Self.bucketProblem(bucket) {
            throw ObjectStoreConfigurationError(variable: variable, problem: problem)
        }
        let trimmed = String(prefix.trimmingSlashes)
        let segments = trimmed.split(separator: "/", omittingEmptySubsequences: false)
        if !trimmed.isEmpty, segments.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) {
            throw ObjectStoreConfigurationError(
                variable: variable, problem: "the prefix '\(trimmed)' has an empty, '.' or '..' segment")
        }
        self.bucket = bucket
        self.prefix = trimmed
    }

    /// Parses `s3://bucket` or `s3://bucket/prefix`; `variable` names the setting in errors.
    public init(parsing text: String, variable: String = "ARTIFACTS_URL") throws(ObjectStoreConfigurationError) {
        guard text.hasPrefix("s3://") else {
            throw ObjectStoreConfigurationError(variable: variable, problem: "expected s3://bucket/prefix")
        }
        let rest = text.dropFirst("s3://".count)
        let bucket = rest.prefix { $0 != "/" }
        if bucket.contains("@") {
            throw ObjectStoreConfigurationError(
                variable: variable,
                problem: "credentials do not belong in the URL: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        }
        if rest.contains("?") || rest.contains("#") {
            throw ObjectStoreConfigurationError(variable: variable, problem: "s3:// URLs take no query or fragment")
        }
        try self.init(bucket: String(bucket), prefix: String(rest.dropFirst(bucket.count)), variable: variable)
    }

    /// The full key of `relative` (e.g. `model/3/manifest.json`) under the prefix.
    public func key(_ relative: String) -> String {
        let relative = relative.drop { $0 == "/" }
        return prefix.isEmpty ? String(relative) : "\(prefix)/\(relative)"
    }

    public var description: String { prefix.isEmpty ? "s3://\(bucket)" : "s3://\(bucket)/\(prefix)" }

    /// Why `name` is not a bucket name S3 accepts, or nil.
    private static func bucketProblem(_ name: String) -> String? {
        if name.isEmpty { return "no bucket: expected s3://bucket/prefix" }
        let allowed = name.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
        }
        let edges = [name.utf8.first!, name.utf8.last!].allSatisfy {
            $0 != UInt8(ascii: ".") && $0 != UInt8(ascii: "-")
        }
        guard (3...63).contains(name.utf8.count), allowed, edges, !name.contains("..") else {
            return "'\(name)' is not a bucket name: 3 to 63 lowercase letters, digits, dots and hyphens, "
                + "starting and ending with a letter or digit"
        }
        return nil
    }
}

extension StringProtocol {
    /// The text without leading and trailing slashes.
    var trimmingSlashes: SubSequence {
        let start = firstIndex { $0 != "/" } ?? endIndex
        let end = lastIndex { $0 != "/" }.map(index(after:)) ?? start
        return self[start..<end]
    }
}
