import Crypto
import Foundation
import HTTPClient
import NIOPosix

/// The hex SHA-256 of a request body, which `x-amz-content-sha256` carries and
/// the signature covers: the store refuses a body that does not match it.
enum PayloadHash {
    /// The hash of an empty body.
    static let empty = of([])

    /// The hash of bytes in memory.
    static func of(_ bytes: [UInt8]) -> String { hex(SHA256.hash(data: bytes)) }

    /// The hash of a file range, read in 1 MiB blocks on NIO's blocking pool.
    static func of(_ range: CurlFileRange) async throws -> String {
        try await NIOThreadPool.singleton.runIfActive {
            let handle = try FileHandle(forReadingFrom: range.file)
            defer { try? handle.close() }
            try handle.seek(toOffset: UInt64(range.offset))
            var hasher = SHA256()
            var remaining = range.length
            while remaining > 0 {
                let block = try handle.read(upToCount: Int(min(remaining, 1 << 20))) ?? Data()
                guard !block.isEmpty else {
                    throw CocoaError(
                        .fileReadUnknown,
                        userInfo: [
                            NSFilePathErrorKey: range.file.path,
                            NSLocalizedDescriptionKey: "\(range.file.path) ended \(remaining) bytes early",
                        ])
                }
                hasher.update(data: block)
                remaining -= Int64(block.count)
            }
            return hex(hasher.finalize())
        }
    }

    private static func hex(_ digest: SHA256.Digest) -> String {
        digest.map { String(format: "%02x", $0) }.joined()
    }
}
