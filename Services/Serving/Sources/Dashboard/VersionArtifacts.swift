import Artifacts
import Foundation
import Learning
import NIOPosix
import Synchronization

/// Artifacts of versions the pages show (feature schema, reference
/// distributions, confusion matrix), read from the artifact store off the
/// event loop and kept for the most recent `capacity` versions: a version
/// never changes, and a large tree model takes a while to decode.
final class VersionArtifacts: Sendable {
    private let storage: ArtifactStorage
    private let capacity: Int
    private let cache = Mutex<[(version: String, artifact: ModelArtifact)]>([])

    init(storage: ArtifactStorage, capacity: Int = 16) {
        self.storage = storage
        self.capacity = capacity
    }

    /// The artifact of `version` at `path` (relative to the artifacts directory), nil if it cannot be read.
    func artifact(version: String, path: String, sha256: String) async -> ModelArtifact? {
        if let hit = cache.withLock({ $0.first { $0.version == version }?.artifact }) { return hit }
        guard let location = try? await storage.directory(path),
            let artifact = try? await NIOThreadPool.singleton.runIfActive({
                try ArtifactStore.load(from: location, expectedSHA256: sha256)
            })
        else { return nil }
        cache.withLock { cache in
            cache.removeAll { $0.version == version }
            cache.insert((version, artifact), at: 0)
            if cache.count > capacity { cache.removeLast(cache.count - capacity) }
        }
        return artifact
    }
}
