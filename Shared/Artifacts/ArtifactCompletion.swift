import Crypto
import Foundation

/// The object a version's upload ends with: every file of the version, its
/// size and SHA-256. Its presence means "complete": a reader never loads a
/// version without it, so a trainer killed mid-upload leaves nothing loadable,
/// and each downloaded file is checked against it before the version is used.
public struct ArtifactCompletion: Codable, Sendable, Equatable {
    /// One file of the version.
    public struct File: Codable, Sendable, Equatable {
        public let size: Int64
        public let sha256: String
    }

    /// The object's name inside the version's prefix (a leading dot: never one of the version's files).
    public static let objectName = ".conveyor-complete.json"

    public let files: [String: File]

    /// Describes the regular files directly inside `directory`.
    static func describing(_ directory: URL) throws -> ArtifactCompletion {
        var files: [String: File] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) where !name.hasPrefix(".") {
            let data = try Data(contentsOf: directory.appendingPathComponent(name))
            files[name] = File(size: Int64(data.count), sha256: sha256(data))
        }
        return ArtifactCompletion(files: files)
    }

    static func sha256(_ data: Data) -> String {
        SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }
}
