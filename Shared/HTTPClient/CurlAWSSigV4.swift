/// Credentials and scope for AWS Signature Version 4, which libcurl computes
/// itself (`CURLOPT_AWS_SIGV4` with the key and secret as user name and password).
///
/// The secret is write-only: no description, debug description or mirror of
/// this value shows it, so logging a request or a setting cannot leak it.
public struct CurlAWSSigV4: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The region of the credential scope, e.g. `us-east-1`.
    public let region: String
    /// The service of the credential scope, `s3` for object storage.
    public let service: String
    /// The access key id (`AWS_ACCESS_KEY_ID`), which is not a secret.
    public let accessKeyID: String
    let secretAccessKey: String

    public init(region: String, service: String = "s3", accessKeyID: String, secretAccessKey: String) {
        self.region = region
        self.service = service
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
    }

    /// libcurl's `provider1:provider2:region:service` string.
    var provider: String { "aws:amz:\(region):\(service)" }

    public var description: String {
        "SigV4(\(service), \(region), key \(accessKeyID), secret <redacted>)"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        Mirror(self, children: ["region": region, "service": service, "accessKeyID": accessKeyID])
    }
}
