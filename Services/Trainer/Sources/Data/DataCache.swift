import Foundation

/// Data files fetched for runs and previews, kept under `WORK_DIR/data-cache` by the hash of
/// their bytes (`sha256-…`, `md5-…`), so the same pinned file is downloaded once: a run that
/// asks for a file another run is downloading waits for that download instead of starting
/// its own. Past `capacity` bytes the least recently used files go (a use touches the file's
/// modification time). A run gets a hard link of the cached file in its own directory, so an
/// eviction never removes bytes a run is reading.
actor DataCache {
    let directory: URL
    let capacity: Int64
    /// Names being downloaded now, and who waits for each.
    private var downloading: [String: [CheckedContinuation<Void, Never>]] = [:]

    init(directory: URL, capacity: Int64) {
        self.directory = directory
        self.capacity = capacity
    }

    /// Links the cached file `name` at `destination`, after `download` wrote it (into the partial
    /// file it is given, which it must also verify) when it was not cached. True when this call
    /// downloaded it; a failed download throws here, and a waiting caller then tries itself.
    func link(
        _ name: String, at destination: URL, download: @Sendable (URL) async throws -> Void
    ) async throws -> Bool {
        let cached = directory.appendingPathComponent(name)
        while true {
            if FileManager.default.fileExists(atPath: cached.path) {
                try? FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: cached.path)
                try Self.place(cached, at: destination)
                return false
            }
            guard downloading[name] == nil else {
                await withCheckedContinuation { downloading[name, default: []].append($0) }
                continue
            }
            downloading[name] = []
            defer {
                for waiter in downloading.removeValue(forKey: name) ?? [] { waiter.resume() }
            }
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let partial = directory.appendingPathComponent(".\(name).\(UUID().uuidString.prefix(8)).partial")
            do {
                try await download(partial)
                guard rename(partial.path, cached.path) == 0 else {
                    throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: cached.path])
                }
            } catch {
                try? FileManager.default.removeItem(at: partial)
                throw error
            }
            try Self.place(cached, at: destination)
            evict(keeping: name)
            return true
        }
    }

    /// A hard link (the cache is under the same `WORK_DIR` as the runs), or a copy when linking fails.
    private static func place(_ cached: URL, at destination: URL) throws {
        try? FileManager.default.removeItem(at: destination)
        try FileManager.default.createDirectory(
            at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
        if Foundation.link(cached.path, destination.path) != 0 {
            try FileManager.default.copyItem(at: cached, to: destination)
        }
    }

    /// Removes the least recently used files until the cache fits `capacity` (never `keeping`).
    private func evict(keeping: String) {
        let keys: [URLResourceKey] = [.fileSizeKey, .contentModificationDateKey]
        guard
            let files = try? FileManager.default.contentsOfDirectory(
                at: directory, includingPropertiesForKeys: keys)
        else { return }
        var entries = files.filter { !$0.lastPathComponent.hasPrefix(".") }.compactMap {
            file -> (url: URL, size: Int64, used: Date)? in
            guard let values = try? file.resourceValues(forKeys: Set(keys)) else { return nil }
            return (file, Int64(values.fileSize ?? 0), values.contentModificationDate ?? .distantPast)
        }
        var total = entries.reduce(0) { $0 + $1.size }
        entries.sort { $0.used < $1.used }
        for entry in entries where total > capacity && entry.url.lastPathComponent != keeping {
            if (try? FileManager.default.removeItem(at: entry.url)) != nil { total -= entry.size }
        }
    }
}
