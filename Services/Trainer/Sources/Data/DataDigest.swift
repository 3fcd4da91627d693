import Crypto
import Foundation

/// What a fetched data file must hash to: the manifest's `sha256`, or the `md5` DVC records.
enum DataDigest: Sendable, Equatable, CustomStringConvertible {
    case sha256(String)
    case md5(String)

    /// The cache's file name for these bytes.
    var cacheName: String {
        switch self {
        case .sha256(let hex): "sha256-\(hex.lowercased())"
        case .md5(let hex): "md5-\(hex.lowercased())"
        }
    }

    var description: String {
        switch self {
        case .sha256(let hex): "sha256 \(hex.lowercased())"
        case .md5(let hex): "md5 \(hex.lowercased())"
        }
    }

    /// The same kind of digest of the file's bytes (read in 1 MiB pieces).
    func ofFile(_ file: URL) throws -> DataDigest {
        guard let handle = FileHandle(forReadingAtPath: file.path) else {
            throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: file.path])
        }
        defer { try? handle.close() }
        switch self {
        case .sha256:
            var hasher = SHA256()
            while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
            return .sha256(hasher.finalize().map { String(format: "%02x", $0) }.joined())
        case .md5:
            var hasher = Insecure.MD5()
            while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
            return .md5(hasher.finalize().map { String(format: "%02x", $0) }.joined())
        }
    }
}
