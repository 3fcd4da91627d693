import Foundation

/// Batches of the prediction log that could not reach Postgres, kept as files
/// in COPY text format until they are replayed. Each batch is its own file,
/// written under a temporary name and renamed into place, so a file is either
/// whole or absent. Replay claims a file by renaming it, so replicas sharing
/// the directory never replay the same file at once.
final class PredictionSpill: Sendable {
    let directory: URL
    static let suffix = ".copy"
    private static let claimedMarker = ".replaying-"

    init(directory: URL) throws {
        self.directory = directory
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // Files claimed by a replay that never finished (a crash) go back in line;
        // replay is idempotent, so a file replayed twice adds no rows.
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path)
        where name.contains(Self.claimedMarker) {
            let original = String(name[..<name.range(of: Self.claimedMarker)!.lowerBound])
            try? FileManager.default.moveItem(
                at: directory.appendingPathComponent(name), to: directory.appendingPathComponent(original))
        }
    }

    /// Stores one encoded batch durably.
    func write(_ encoded: [UInt8]) throws {
        let stamp = String(Int64(Date().timeIntervalSince1970 * 1_000_000))
        let name = "batch-\(stamp)-\(UUID().uuidString.prefix(8))\(Self.suffix)"
        let temporary = directory.appendingPathComponent(".\(name).tmp")
        guard FileManager.default.createFile(atPath: temporary.path, contents: Data(encoded)) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: temporary.path])
        }
        try FileManager.default.moveItem(at: temporary, to: directory.appendingPathComponent(name))
    }

    /// Spilled batches waiting for replay, oldest first.
    func pending() -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasPrefix("batch-") && $0.hasSuffix(Self.suffix) }.sorted()
            .map { directory.appendingPathComponent($0) }
    }

    /// A claimed batch: its bytes, and how to finish or release the claim.
    struct Claim {
        let bytes: [UInt8]
        let claimed: URL
        let original: URL

        /// The batch is in Postgres: forget it.
        func finish() { try? FileManager.default.removeItem(at: claimed) }
        /// Postgres refuses the batch's data: keep it aside as `rejected-…`, out of the replay line.
        func quarantine() {
            try? FileManager.default.moveItem(
                at: claimed,
                to: original.deletingLastPathComponent().appendingPathComponent(
                    "rejected-" + original.lastPathComponent))
        }
        /// The replay failed: put the batch back in line.
        func release() { try? FileManager.default.moveItem(at: claimed, to: original) }
    }

    /// Takes a batch for replay, or nil when another replica took it first.
    func claim(_ file: URL) -> Claim? {
        let claimed = file.deletingLastPathComponent().appendingPathComponent(
            file.lastPathComponent + Self.claimedMarker + UUID().uuidString.prefix(8))
        guard (try? FileManager.default.moveItem(at: file, to: claimed)) != nil,
            let data = FileManager.default.contents(atPath: claimed.path)
        else { return nil }
        return Claim(bytes: Array(data), claimed: claimed, original: file)
    }
}
