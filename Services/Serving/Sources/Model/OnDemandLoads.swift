import Synchronization

/// Loads of models asked for by requests, one at a time per model: a request
/// arriving while its model loads waits for that load instead of starting
/// another.
final class OnDemandLoads: Sendable {
    private let running = Mutex<[String: Task<LoadedModel?, any Error>]>([:])

    /// Runs `load` for `name`, or waits for the one already running.
    func run(_ name: String, _ load: @escaping @Sendable () async throws -> LoadedModel?) async throws
        -> LoadedModel?
    {
        let task = running.withLock { running in
            if let task = running[name] { return task }
            let task = Task { try await load() }
            running[name] = task
            return task
        }
        defer { running.withLock { if $0[name] == task { $0[name] = nil } } }
        return try await task.value
    }
}
