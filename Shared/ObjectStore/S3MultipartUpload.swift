import Foundation

/// A multipart upload the store holds open: started, then neither completed nor
/// aborted, e.g. because its uploader was killed. Its parts take space until it is aborted.
public struct S3MultipartUpload: Sendable, Equatable {
    /// The key the object would have had.
    public let key: String
    /// The store's id of the upload.
    public let uploadID: String
    /// When it was started, if the store said so.
    public let initiated: Date?

    public init(key: String, uploadID: String, initiated: Date?) {
        self.key = key
        self.uploadID = uploadID
        self.initiated = initiated
    }

    /// S3's `2026-12-07T05:28:30.000Z` (fractional seconds optional).
    static func date(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }
}
