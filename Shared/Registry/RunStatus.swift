/// Where a training run is, as stored in `training_runs.status`.
public enum RunStatus: String, RegistryValue {
    /// Waiting for a trainer to claim it.
    case queued
    /// A trainer holds its lease and is working on it.
    case running
    /// The model passed every gate (a merge's was deployed; a preview's kept).
    case succeeded
    /// The model was trained but a gate refused it; the live model keeps serving.
    case rejected
    /// The run could not produce a model (checkout, manifest, data, timeout…).
    case failed
    /// An admin, or a newer push to the same pull request, cancelled it.
    case cancelled

    /// Whether the run has ended.
    public var isFinished: Bool { self != .queued && self != .running }

    /// The statuses of runs that have not ended (a cancel request still applies).
    public static let unfinished: [RunStatus] = [.queued, .running]
}
