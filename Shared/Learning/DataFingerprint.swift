import Crypto
import Foundation

/// The identity of the data a model was trained on.
public struct DataFingerprint: Codable, Sendable, Equatable {
    /// sha256 over the data files' bytes, in manifest order.
    public let sha256: String
    public let rows: Int

    public init(files: [Data], rows: Int) {
        var hasher = SHA256()
        for file in files { hasher.update(data: file) }
        self.sha256 = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        self.rows = rows
    }
}
