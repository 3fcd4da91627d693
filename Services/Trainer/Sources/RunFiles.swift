import Crypto
import Foundation

/// A file the repository's training command wrote beside its model
/// (`params.json`, plots): kept with the run in `run_files` and served by
/// `GET /runs/{id}/files/{name}`.
public struct RunFile: Sendable, Equatable {
    /// Its name in the command's output directory.
    public let name: String
    public let content: Data
    public var sha256: String { SHA256.hash(data: content).map { String(format: "%02x", $0) }.joined() }
}

/// What is kept of a command's extra files, and what is said about the rest.
enum RunFiles {
    /// At most this many files are kept per run…
    static let maxFiles = 20
    /// …each at most this large…
    static let maxFileBytes = 2 << 20
    /// …and this large together.
    static let maxTotalBytes = 8 << 20

    /// The regular files at the top of `directory` (hidden ones and
    /// symlinks skipped) except `excluded`, within the limits; each file left
    /// out is named in `log` with the rule it broke.
    static func collect(in directory: URL, excluding excluded: Set<String>, log: (String) -> Void) -> [RunFile] {
        let keys: [URLResourceKey] = [.isRegularFileKey, .isDirectoryKey, .isSymbolicLinkKey, .fileSizeKey]
        let entries =
            (try? FileManager.default.contentsOfDirectory(
                at: directory, includingPropertiesForKeys: keys, options: [.skipsHiddenFiles])) ?? []
        var candidates: [(name: String, url: URL, size: Int)] = []
        for url in entries where !excluded.contains(url.lastPathComponent) {
            guard let values = try? url.resourceValues(forKeys: Set(keys)) else { continue }
            if values.isDirectory == true {
                log("not kept: \(url.lastPathComponent)/ (only files at the top of $CONVEYOR_OUTPUT_DIR are kept)")
            } else if values.isRegularFile == true && values.isSymbolicLink != true {
                candidates.append((url.lastPathComponent, url, values.fileSize ?? 0))
            }
        }
        var kept: [RunFile] = []
        var total = 0
        for candidate in candidates.sorted(by: { $0.name < $1.name }) {
            if kept.count == maxFiles {
                log("not kept: \(candidate.name) (a run keeps at most \(maxFiles) files)")
            } else if candidate.size > maxFileBytes {
                log(
                    "not kept: \(candidate.name), \(candidate.size) bytes (over the \(maxFileBytes)-byte limit per file)"
                )
            } else if total + candidate.size > maxTotalBytes {
                log("not kept: \(candidate.name) (the run's files would pass \(maxTotalBytes) bytes together)")
            } else if let content = readWithoutFollowing(candidate.url, upTo: maxFileBytes) {
                kept.append(RunFile(name: candidate.name, content: content))
                total += content.count
            }
        }
        if !kept.isEmpty {
            log("kept with the run: " + kept.map { "\($0.name) (\($0.content.count) bytes)" }.joined(separator: ", "))
        }
        return kept
    }

    /// The file's bytes, refusing a symlink put in its place after the
    /// listing (the command's leftovers are not trusted) and anything larger
    /// than `limit`.
    private static func readWithoutFollowing(_ url: URL, upTo limit: Int) -> Data? {
        let descriptor = open(url.path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        guard let data = try? handle.read(upToCount: limit + 1), data.count <= limit else { return nil }
        return data
    }
}
