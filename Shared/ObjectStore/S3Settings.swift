import Foundation
import HTTPClient

/// How to reach an S3-compatible object store: the endpoint, the region and
/// the credentials, read once from the environment (`S3_ENDPOINT`,
/// `S3_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`).
///
/// The secret is write-only: no description, debug description or mirror of
/// the settings shows it, so they can be logged whole.
public struct S3Settings: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The service's base URL, e.g. `http://127.0.0.1:8333`, without a trailing
    /// slash; requests are path-style, `endpoint/bucket/key`.
    public let endpoint: String
    /// The signing region, `us-east-1` unless set.
    public let region: String
    /// The access key id, which is not a secret.
    public let accessKeyID: String
    private let secretAccessKey: String

    /// Settings from their parts, validated; `S3_ENDPOINT` etc. name the fields in errors.
    public init(endpoint: String, region: String = "us-east-1", accessKeyID: String, secretAccessKey: String)
        throws(ObjectStoreConfigurationError)
    {
        let regionCharacters = region.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-"
        }
        guard !region.isEmpty, regionCharacters else {
            throw ObjectStoreConfigurationError(
                variable: "S3_REGION", problem: "'\(region)' is not a region: lowercase letters, digits and hyphens")
        }
        self.region = region
        self.endpoint = try Self.validatedEndpoint(endpoint)
        guard !accessKeyID.isEmpty, !accessKeyID.contains(where: { $0.isWhitespace || $0 == ":" }) else {
            throw ObjectStoreConfigurationError(
                variable: "AWS_ACCESS_KEY_ID", problem: "must be set, without spaces or colons")
        }
        self.accessKeyID = accessKeyID
        guard !secretAccessKey.isEmpty, !secretAccessKey.contains(where: \.isNewline) else {
            throw ObjectStoreConfigurationError(variable: "AWS_SECRET_ACCESS_KEY", problem: "must be set, on one line")
        }
        self.secretAccessKey = secretAccessKey
    }

    /// Settings from the environment. `S3_ENDPOINT` defaults to AWS's regional
    /// endpoint, `S3_REGION` to `us-east-1`; both credentials are required.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(ObjectStoreConfigurationError)
    {
        let region = environment["S3_REGION"].flatMap { $0.isEmpty ? nil : $0 } ?? "us-east-1"
        let endpoint =
            environment["S3_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 } ?? "https://s3.\(region).amazonaws.com"
        try self.init(
            endpoint: endpoint, region: region, accessKeyID: environment["AWS_ACCESS_KEY_ID"] ?? "",
            secretAccessKey: environment["AWS_SECRET_ACCESS_KEY"] ?? "")
    }

    /// The credentials libcurl signs requests with, scoped to this region and `s3`.
    var signing: CurlAWSSigV4 {
        CurlAWSSigV4(region: region, service: "s3", accessKeyID: accessKeyID, secretAccessKey: secretAccessKey)
    }

    public var description: String {
        "S3Settings(endpoint: \(endpoint), region: \(region), accessKeyID: \(accessKeyID), secret: <redacted>)"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        Mirror(self, children: ["endpoint": endpoint, "region": region, "accessKeyID": accessKeyID])
    }

    /// `text` as an http(s) base URL without credentials, query or trailing slash.
    private static func validatedEndpoint(_ text: String) throws(ObjectStoreConfigurationError) -> String {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty
        else {
            throw ObjectStoreConfigurationError(variable: "S3_ENDPOINT", problem: "expected http(s)://host[:port]")
        }
        guard components.user == nil, components.password == nil else {
            throw ObjectStoreConfigurationError(
                variable: "S3_ENDPOINT",
                problem: "credentials do not belong in the URL: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        }
        guard components.query == nil, components.fragment == nil else {
            throw ObjectStoreConfigurationError(variable: "S3_ENDPOINT", problem: "takes no query or fragment")
        }
        var endpoint = text
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        return endpoint
    }
}
