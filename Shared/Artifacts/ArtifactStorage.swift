import Foundation
import HTTPClient
import Logging
import ObjectStore
import Synchronization

/// Where model versions are kept, as the services use them. Every version is
/// read from a local directory (`local/<name>/<version>/`). With `file://` that
/// directory is the store itself (today's shared volume). With `s3://` it is a
/// local copy: the trainer writes a version there and publishes it (every file,
/// then `ArtifactCompletion` last); a reader downloads a complete version into
/// it (files checked against the completion record, then renamed into place,
/// so a half-downloaded version is never seen) before loading it, and the
/// content hash recorded in Postgres is checked on load as always.
public final class ArtifactStorage: Sendable, CustomStringConvertible {
    /// Where the versions live.
    public let location: ArtifactLocation
    /// The directory versions are read from (the store, or its local copy).
    public let local: URL
    let remote: (client: S3Client, location: S3Location)?
    /// Whether the object store answered the last request (true for `file://`).
    private let reachable = Atomic<Bool>(true)

    /// `file://`: `local` is the store. `s3://`: `cacheDirectory` holds the local copies.
    public init(location: ArtifactLocation, cacheDirectory: URL, settings: S3Settings?, http: CurlHTTPClient?) {
        self.location = location
        switch location {
        case .file(let directory):
            local = directory
            remote = nil
        case .s3(let s3):
            local = cacheDirectory
            if let settings, let http {
                remote = (S3Client(location: s3, settings: settings, http: http), s3)
            } else {
                remote = nil
            }
        }
    }

    public var description: String { location.description }

    /// Whether versions come from an object store.
    public var isRemote: Bool { remote != nil }

    /// Whether the object store answered the last request.
    public var isReachable: Bool { reachable.load(ordering: .relaxed) }

    /// The local directory of version `path` (`name/version`), downloaded first when it lives
    /// in the object store and is not here yet.
    public func directory(_ path: String) async throws -> URL {
        let directory = local.appendingPathComponent(path, isDirectory: true)
        guard let remote else { return directory }
        if FileManager.default.fileExists(atPath: directory.path) {
            touch(directory)
            return directory
        }
        let completion: ArtifactCompletion
        do {
            let marker = remote.location.key("\(path)/\(ArtifactCompletion.objectName)")
            // One GET: a missing completion record means the version is not complete (yet).
            let bytes: [UInt8]
            do {
                bytes = try await remote.client.get(marker)
            } catch let error as S3Error where error.code == .noSuchKey {
                markReachable(true)
                throw ArtifactUnavailable(
                    path: path, reason: "not complete in \(location) (no \(ArtifactCompletion.objectName))",
                    storeUnreachable: false)
            }
            completion = try JSONDecoder().decode(ArtifactCompletion.self, from: Data(bytes))
            let parent = directory.deletingLastPathComponent()
            try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
            let staging = parent.appendingPathComponent(".download-\(directory.lastPathComponent)-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: staging) }
            for (name, expected) in completion.files.sorted(by: { $0.key < $1.key }) {
                let file = staging.appendingPathComponent(name)
                try await remote.client.download(remote.location.key("\(path)/\(name)"), to: file)
                let sha = ArtifactCompletion.sha256(try Data(contentsOf: file))
                guard sha == expected.sha256 else {
                    markReachable(true)
                    throw ArtifactUnavailable(
                        path: path, reason: "\(name) has sha256 \(sha), its completion record says \(expected.sha256)",
                        storeUnreachable: false)
                }
            }
            markReachable(true)
            if rename(staging.path, directory.path) != 0, !FileManager.default.fileExists(atPath: directory.path) {
                throw ArtifactUnavailable(
                    path: path, reason: "cannot move the download into \(directory.path)", storeUnreachable: false)
            }
            return directory
        } catch let unavailable as ArtifactUnavailable {
            throw unavailable
        } catch let error as S3Error where !error.isTransient {
            markReachable(true)
            throw ArtifactUnavailable(path: path, reason: "\(error)", storeUnreachable: false)
        } catch {
            markReachable(false)
            throw ArtifactUnavailable(
                path: path, reason: "\(location) is unreachable: \(error)", storeUnreachable: true)
        }
    }

    /// Publishes the version written locally at `path`: every file, then the completion record
    /// (nothing to do with `file://`).
    public func publish(_ path: String) async throws {
        guard let remote else { return }
        let directory = local.appendingPathComponent(path, isDirectory: true)
        let completion = try ArtifactCompletion.describing(directory)
        do {
            for name in completion.files.keys.sorted() {
                try await remote.client.put(
                    remote.location.key("\(path)/\(name)"), file: directory.appendingPathComponent(name))
            }
            try await remote.client.put(
                remote.location.key("\(path)/\(ArtifactCompletion.objectName)"),
                data: Array(try JSONEncoder().encode(completion)), contentType: "application/json")
            markReachable(true)
        } catch {
            markReachable(false)
            throw error
        }
    }

    /// Deletes versions the object store holds without a completion record (uploads a trainer
    /// abandoned), except those `keep` says are still being written; returns their paths.
    public func removeIncomplete(keep: (String) -> Bool) async throws -> [String] {
        guard let remote else { return [] }
        let root = remote.location.key("")
        let keys = try await remote.client.list(prefix: root)
        var versions: [String: [String]] = [:]
        for key in keys {
            let relative = String(key.dropFirst(root.count))
            let parts = relative.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            versions["\(parts[0])/\(parts[1])", default: []].append(String(parts[2]))
        }
        var removed: [String] = []
        for (path, names) in versions.sorted(by: { $0.key < $1.key })
        where !names.contains(ArtifactCompletion.objectName) && !keep(path) {
            for name in names { try await remote.client.delete(remote.location.key("\(path)/\(name)")) }
            removed.append(path)
        }
        return removed
    }

    /// Removes local copies, least recently used first, until they take at most `maxBytes`;
    /// never one whose path is in `keep` (the live and previous versions). Nothing with `file://`.
    public func evict(maxBytes: Int64, keep: Set<String>) -> [String] {
        guard remote != nil else { return [] }
        var copies: [(path: String, used: Date, bytes: Int64)] = []
        let manager = FileManager.default
        for name in (try? manager.contentsOfDirectory(atPath: local.path)) ?? [] where !name.hasPrefix(".") {
            let modelDirectory = local.appendingPathComponent(name)
            for version in (try? manager.contentsOfDirectory(atPath: modelDirectory.path)) ?? []
            where !version.hasPrefix(".") {
                let directory = modelDirectory.appendingPathComponent(version)
                let used = (try? manager.attributesOfItem(atPath: directory.path)[.modificationDate] as? Date) ?? nil
                copies.append(("\(name)/\(version)", used ?? .distantPast, Self.size(of: directory)))
            }
        }
        var total = copies.reduce(0) { $0 + $1.bytes }
        var removed: [String] = []
        for copy in copies.sorted(by: { $0.used < $1.used }) where total > maxBytes && !keep.contains(copy.path) {
            if (try? manager.removeItem(at: local.appendingPathComponent(copy.path))) != nil {
                total -= copy.bytes
                removed.append(copy.path)
            }
        }
        return removed
    }

    private static func size(of directory: URL) -> Int64 {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.reduce(0) { total, name in
            let attributes = try? FileManager.default.attributesOfItem(
                atPath: directory.appendingPathComponent(name).path)
            return total + ((attributes?[.size] as? NSNumber)?.int64Value ?? 0)
        }
    }

    /// Marks a local copy as used now (eviction goes by it).
    private func touch(_ directory: URL) {
        try? FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: directory.path)
    }

    private func markReachable(_ value: Bool) {
        reachable.store(value, ordering: .relaxed)
    }
}
