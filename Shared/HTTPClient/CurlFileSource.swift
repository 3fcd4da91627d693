import CCurl
import Foundation

/// Feeds libcurl's read callback from a `CurlFileRange` with `pread`, so an
/// upload of any size needs one buffer of libcurl's choosing, not the file in memory.
final class CurlFileSource {
    let range: CurlFileRange
    private let descriptor: Int32
    private var position: Int64
    private(set) var remaining: Int64
    /// Why the last read failed, for the transfer's error.
    private(set) var failure: String?

    init(_ range: CurlFileRange) throws {
        self.range = range
        descriptor = open(range.file.path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw CurlError.transfer(
                code: Int(CURLE_READ_ERROR.rawValue),
                message: "cannot open \(range.file.path): \(String(cString: strerror(errno)))")
        }
        position = range.offset
        remaining = range.length
    }

    deinit { close(descriptor) }

    /// Copies up to `capacity` bytes into `buffer`; nil when the file cannot be read
    /// or ends before the range does (it shrank during the upload).
    func read(into buffer: UnsafeMutableRawPointer, capacity: Int) -> Int? {
        let wanted = Int(min(Int64(capacity), remaining))
        guard wanted > 0 else { return 0 }
        var count: Int
        repeat { count = pread(descriptor, buffer, wanted, off_t(position)) } while count < 0 && errno == EINTR
        if count < 0 {
            failure = "reading \(range.file.path): \(String(cString: strerror(errno)))"
            return nil
        }
        if count == 0 {
            failure = "\(range.file.path) ended \(remaining) bytes before the range uploaded"
            return nil
        }
        position += Int64(count)
        remaining -= Int64(count)
        return count
    }
}

/// libcurl's read callback over a `CurlFileSource`.
func readFileSource(
    _ buffer: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?
) -> Int {
    guard let buffer, let context else { return Int(CURL_READFUNC_ABORT) }
    let source = Unmanaged<CurlFileSource>.fromOpaque(context).takeUnretainedValue()
    return source.read(into: buffer, capacity: size * count) ?? Int(CURL_READFUNC_ABORT)
}
