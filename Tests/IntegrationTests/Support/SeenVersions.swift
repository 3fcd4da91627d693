import Synchronization

/// The model versions a load has been answered by so far, read while it runs.
final class SeenVersions: Sendable {
    private let versions = Mutex<Set<String>>([])

    func insert(_ version: String) { versions.withLock { _ = $0.insert(version) } }
    func contains(_ version: String) -> Bool { versions.withLock { $0.contains(version) } }
}
