import Foundation
import Subprocess

/// Data files fetched for runs and previews, kept under `WORK_DIR/data-cache` by the hash of
/// their bytes (`sha256-…`, `md5-…`), so the same pinned file is downloaded once: a run that
/// asks for a file another run is downloading waits for that download instead of starting
/// its own (a cancelled run stops waiting at once). Past `capacity` bytes the least recently
/// used files go (a use touches the file's modification time). A run gets a hard link of the
/// cached file in its own directory, so an eviction never removes bytes a run is reading;
/// cached files are read-only, so no run can change what a later one reads.
actor DataCache {
    let directory: URL
    let capacity: Int64
    /// Names being downloaded now, and who waits for each (by waiter id).
    private var downloading: [String: [UUID: CheckedContinuation<Void, any Error>]] = [:]
    /// Whether partial files a killed trainer left were removed.
    private var swept = false

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
        sweepPartialFiles()
        while true {
            try Task.checkCancellation()
            if FileManager.default.fileExists(atPath: cached.path) {
                try? FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: cached.path)
                try await Self.place(cached, at: destination)
                return false
            }
            if downloading[name] != nil {
                try await waitForDownload(name)
                continue
            }
            downloading[name] = [:]
            defer {
                for waiter in (downloading.removeValue(forKey: name) ?? [:]).values { waiter.resume() }
            }
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let partial = directory.appendingPathComponent(".\(name).\(UUID().uuidString.prefix(8)).partial")
            do {
                try await download(partial)
                _ = chmod(partial.path, 0o444)
                guard rename(partial.path, cached.path) == 0 else {
                    throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: cached.path])
                }
            } catch {
                try? FileManager.default.removeItem(at: partial)
                throw error
            }
            try await Self.place(cached, at: destination)
            evict(keeping: name)
            return true
        }
    }

    /// Waits until the download of `name` ends (either way); throws at once when the task is cancelled.
    private func waitForDownload(_ name: String) async throws {
        let id = UUID()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                if Task.isCancelled || downloading[name] == nil {
                    continuation.resume(throwing: CancellationError())
                    return
                }
                downloading[name]?[id] = continuation
            }
        } onCancel: {
            Task { await self.cancelWaiter(id, of: name) }
        }
    }

    /// How many callers wait for the download of `name` (tests wait for this instead of a fixed time).
    func waiterCount(_ name: String) -> Int { downloading[name]?.count ?? 0 }

    private func cancelWaiter(_ id: UUID, of name: String) {
        downloading[name]?.removeValue(forKey: id)?.resume(throwing: CancellationError())
    }

    /// A hard link (the cache is under the same `WORK_DIR` as the runs), or a copy (off the
    /// actor's thread) when linking fails.
    private static func place(_ cached: URL, at destination: URL) async throws {
        try? FileManager.default.removeItem(at: destination)
        try FileManager.default.createDirectory(
            at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
        if Foundation.link(cached.path, destination.path) != 0 {
            try await BlockingWork.run { try FileManager.default.copyItem(at: cached, to: destination) }
        }
    }

    /// Removes what downloads of a killed trainer left (once, on first use).
    private func sweepPartialFiles() {
        guard !swept else { return }
        swept = true
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        for name in names where name.hasPrefix(".") && name.hasSuffix(".partial") {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
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
