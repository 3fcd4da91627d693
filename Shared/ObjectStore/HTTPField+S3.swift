import HTTPTypes

/// The header fields S3 requests and responses use, named once.
extension HTTPField.Name {
    /// `x-amz-content-sha256`: the payload's SHA-256 in hex, which the signature covers.
    static let xAmzContentSHA256 = HTTPField.Name("x-amz-content-sha256")!
    /// `x-amz-request-id`: the store's id of a request, for its logs.
    static let xAmzRequestID = HTTPField.Name("x-amz-request-id")!
}
