import Foundation

/// One data file of a run fetched outside git (`training_runs.data_files`), as the run and
/// version pages list it. Stored properties only: the templates read them by reflection.
struct DataFileRow: Sendable {
    let key: String
    /// The repository path (DVC) or the URL.
    let origin: String
    let source: String
    let hash: String
    let bytes: String
    let fetch: String

    /// What the trainer recorded (see the trainer's `DataLineage`).
    private struct Recorded: Decodable {
        let key: String
        let source: String
        let path: String?
        let url: String
        let sha256: String?
        let md5: String?
        let bytes: Int64
        let downloaded: Bool
    }

    /// The rows of a run's `data_files` JSON (none when it is absent or unreadable).
    static func rows(_ text: String?) -> [DataFileRow] {
        guard let text, let recorded = try? JSONDecoder().decode([Recorded].self, from: Data(text.utf8)) else {
            return []
        }
        return recorded.map {
            DataFileRow(
                key: $0.key, origin: $0.path.map { "\($0) (DVC)" } ?? $0.url, source: $0.source,
                hash: $0.sha256.map { "sha256 \($0)" } ?? $0.md5.map { "md5 \($0)" } ?? "–",
                bytes: ByteCountFormatter.string(fromByteCount: $0.bytes, countStyle: .binary),
                fetch: $0.downloaded ? "downloaded" : "from the cache")
        }
    }
}
