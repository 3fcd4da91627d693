import Foundation

/// A byte range of a file on disk: a request body libcurl streams from the
/// file instead of holding it in memory (a whole file, or one multipart part).
public struct CurlFileRange: Sendable, Equatable {
    /// The file to read.
    public var file: URL
    /// Where the range starts, in bytes from the start of the file.
    public var offset: Int64
    /// How many bytes the range holds.
    public var length: Int64

    public init(file: URL, offset: Int64 = 0, length: Int64) {
        self.file = file
        self.offset = offset
        self.length = length
    }

    /// The whole of `file`, at its current size.
    public static func whole(_ file: URL) throws -> CurlFileRange {
        let attributes = try FileManager.default.attributesOfItem(atPath: file.path)
        let size = (attributes[.size] as? NSNumber)?.int64Value ?? 0
        return CurlFileRange(file: file, length: size)
    }
}
