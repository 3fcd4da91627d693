/// What the store says about an object without sending it: its size and ETag.
public struct S3ObjectHead: Sendable, Equatable {
    /// The object's size in bytes.
    public let size: Int64
    /// The entity tag, quotes included, as the store sent it (an MD5 for
    /// single-part uploads, `"…-N"` for multipart ones).
    public let etag: String

    public init(size: Int64, etag: String) {
        self.size = size
        self.etag = etag
    }
}
