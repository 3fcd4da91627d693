/// A request the object store refused: its S3 error code (`NoSuchKey`,
/// `SignatureDoesNotMatch`, …), message, and the bucket and key it was about.
/// Built from the response's error document, never from the credentials.
public struct S3Error: Error, CustomStringConvertible, Sendable, Equatable {
    /// An S3 error code, compared by name.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The key does not exist.
        public static let noSuchKey = Code(rawValue: "NoSuchKey")
        /// The bucket does not exist.
        public static let noSuchBucket = Code(rawValue: "NoSuchBucket")
        /// The multipart upload does not exist (completed, aborted or never made).
        public static let noSuchUpload = Code(rawValue: "NoSuchUpload")
        /// The signature is wrong: usually a wrong secret access key.
        public static let signatureDoesNotMatch = Code(rawValue: "SignatureDoesNotMatch")
        /// The access key id is unknown to the store.
        public static let invalidAccessKeyId = Code(rawValue: "InvalidAccessKeyId")
        /// The credentials may not do this.
        public static let accessDenied = Code(rawValue: "AccessDenied")
        /// The bucket exists and belongs to the caller.
        public static let bucketAlreadyOwnedByYou = Code(rawValue: "BucketAlreadyOwnedByYou")
        /// The bucket exists and belongs to someone else.
        public static let bucketAlreadyExists = Code(rawValue: "BucketAlreadyExists")
        /// A request the client refused to send (e.g. an empty key).
        public static let invalidRequest = Code(rawValue: "InvalidRequest")
    }

    /// The S3 error code; for a response without an error document (`HEAD`),
    /// the HTTP reason, e.g. `Forbidden`.
    public let code: Code
    /// The store's explanation.
    public let message: String
    /// The HTTP status (0 when the client refused to send the request).
    public let status: Int
    /// The bucket the request was about.
    public let bucket: String
    /// The key the request was about, if any.
    public let key: String?
    /// The store's request id, for its logs.
    public let requestID: String?

    public init(code: Code, message: String, status: Int, bucket: String, key: String?, requestID: String? = nil) {
        self.code = code
        self.message = message
        self.status = status
        self.bucket = bucket
        self.key = key
        self.requestID = requestID
    }

    public var description: String {
        let target = key.map { "s3://\(bucket)/\($0)" } ?? "s3://\(bucket)"
        let status = status == 0 ? "" : " (HTTP \(status))"
        return "\(code)\(status) for \(target): \(message)"
    }

    /// Whether the same request may succeed later: server errors, throttling, timeouts.
    public var isTransient: Bool {
        status >= 500 || status == 429 || ["SlowDown", "RequestTimeout", "InternalError"].contains(code.rawValue)
    }
}
