import Foundation

/// Where one of a run's data files came from, as recorded with the run (`data_files`): its key
/// in conveyor.yaml, the repository path or URL, its hash and size, so the same commit always
/// trains on the same bytes.
public struct DataLineage: Codable, Sendable, Equatable {
    /// `data.train`, `data.test` or `data.path`.
    public let key: String
    /// `url` (by URL and hash) or `dvc` (a `.dvc` file or `dvc.lock` output).
    public let source: String
    /// The path in the repository (DVC), nil for `url`.
    public let path: String?
    /// Where the bytes were fetched from (credentials and query strings dropped).
    public let url: String
    public let sha256: String?
    public let md5: String?
    public let bytes: Int64
    /// False when another run or preview had already fetched these bytes.
    public let downloaded: Bool

    /// One line for logs and the preview comment.
    public var summary: String {
        let hash = sha256.map { "sha256 \($0.prefix(12))…" } ?? md5.map { "md5 \($0.prefix(12))…" } ?? ""
        return "\(key): \(path ?? url) (\(source), \(bytes) bytes, \(hash)\(downloaded ? "" : ", cached"))"
    }
}
