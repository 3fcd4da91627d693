import CCurl
import Foundation

/// Where a successful response's body goes instead of memory: a file, created
/// (or truncated) when the transfer starts and written as bytes arrive.
final class CurlFileSink {
    let file: URL
    /// The most bytes it accepts; a body that grows past it fails the transfer.
    let limit: Int64?
    private let descriptor: Int32
    /// Bytes written so far.
    private(set) var written: Int64 = 0
    /// Why the last write failed, for the transfer's error.
    private(set) var failure: String?
    /// Whether the body grew past `limit`.
    private(set) var exceeded = false

    /// Set when the caller no longer wants the body.
    let stop: CurlStop?

    init(_ file: URL, limit: Int64? = nil, stop: CurlStop? = nil) throws {
        self.file = file
        self.limit = limit
        self.stop = stop
        descriptor = open(file.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw CurlError.transfer(
                code: Int(CURLE_WRITE_ERROR.rawValue),
                message: "cannot create \(file.path): \(String(cString: strerror(errno)))")
        }
    }

    deinit { close(descriptor) }

    /// Writes all of `bytes`; false (with `failure` set) when the disk refuses them.
    func write(_ bytes: UnsafeRawBufferPointer) -> Bool {
        if stop?.isSet == true {
            failure = "cancelled"
            return false
        }
        if let limit, written + Int64(bytes.count) > limit {
            failure = "the body is larger than the limit of \(limit) bytes"
            exceeded = true
            return false
        }
        var offset = 0
        while offset < bytes.count {
            let count = Foundation.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if count < 0 {
                if errno == EINTR { continue }
                failure = "writing \(file.path): \(String(cString: strerror(errno)))"
                return false
            }
            offset += count
        }
        written += Int64(bytes.count)
        return true
    }
}
