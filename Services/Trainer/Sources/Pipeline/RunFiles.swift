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

    /// The regular files at the top of `directory` (hidden ones skipped)
    /// except `excluded`, within the limits; each file left out is named in
    /// `log` with the rule it broke. Files are read as `OutputFile` reads
    /// them: a symbolic link, a hard link or a special file is never read.
    static func collect(in directory: URL, excluding excluded: Set<String>, log: (String) -> Void) -> [RunFile] {
        let keys: [URLResourceKey] = [.isDirectoryKey, .isSymbolicLinkKey]
        let entries =
            (try? FileManager.default.contentsOfDirectory(
                at: directory, includingPropertiesForKeys: keys, options: [.skipsHiddenFiles])) ?? []
        var candidates: [String] = []
        for url in entries where !excluded.contains(url.lastPathComponent) {
            guard let values = try? url.resourceValues(forKeys: Set(keys)) else { continue }
            if values.isDirectory == true && values.isSymbolicLink != true {
                log("not kept: \(url.lastPathComponent)/ (only files at the top of $CONVEYOR_OUTPUT_DIR are kept)")
            } else {
                candidates.append(url.lastPathComponent)
            }
        }
        var kept: [RunFile] = []
        var total = 0
        for name in candidates.sorted() {
            if kept.count == maxFiles {
                log("not kept: \(name) (a run keeps at most \(maxFiles) files)")
                continue
            }
            switch OutputFile.read(name, in: directory, limit: maxFileBytes) {
            case .failure(.tooLarge(let size, _)):
                log("not kept: \(name), \(size) bytes (over the \(maxFileBytes)-byte limit per file)")
            case .failure(let refusal):
                log("not kept: \(name) (\(refusal))")
            case .success(let content) where total + content.count > maxTotalBytes:
                log("not kept: \(name) (the run's files would pass \(maxTotalBytes) bytes together)")
            case .success(let content):
                kept.append(RunFile(name: name, content: content))
                total += content.count
            }
        }
        if !kept.isEmpty {
            log("kept with the run: " + kept.map { "\($0.name) (\($0.content.count) bytes)" }.joined(separator: ", "))
        }
        return kept
    }
}
