import Foundation
import Registry
import ServiceKit
import Synchronization

/// The seconds each stage of one run took, recorded as each stage ends (also
/// when it throws), so a run that fails keeps the timings of the stages it
/// finished and of the one it failed in. A stage run twice adds up.
public final class StageTimings: Sendable {
    private let seconds = Mutex<[TrainingStage: Double]>([:])

    public init() {}

    /// Adds the time since `start` to `stage`.
    public func record(_ stage: TrainingStage, since start: ContinuousClock.Instant) {
        let elapsed = (ContinuousClock.now - start).inSeconds
        seconds.withLock { $0[stage, default: 0] += elapsed }
    }

    /// Runs `body`, timing it as `stage`.
    public func measure<T>(_ stage: TrainingStage, _ body: () throws -> T) rethrows -> T {
        let start = ContinuousClock.now
        defer { record(stage, since: start) }
        return try body()
    }

    /// Runs `body`, timing it as `stage`.
    public func measure<T>(_ stage: TrainingStage, _ body: () async throws -> T) async rethrows -> T {
        let start = ContinuousClock.now
        defer { record(stage, since: start) }
        return try await body()
    }

    /// As stored in `training_runs.timings` and shown on the runs page: seconds by stage name.
    public var byName: [String: Double] {
        seconds.withLock { Dictionary(uniqueKeysWithValues: $0.map { ($0.key.rawValue, $0.value) }) }
    }
}
