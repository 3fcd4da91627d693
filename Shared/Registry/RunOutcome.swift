/// How a training run ended, as stored in `training_runs.status` and announced.
public enum RunOutcome: String, RegistryValue {
    /// The model passed every gate and was deployed.
    case succeeded
    /// The model was trained but a gate refused it; the live model keeps serving.
    case rejected
    /// The run could not produce a model (checkout, manifest, data, timeout…).
    case failed
    /// An admin cancelled it (`POST /runs/{id}/cancel`); its processes were stopped.
    case cancelled

    /// The status the run is stored with.
    public var status: RunStatus { RunStatus(rawValue: rawValue) ?? .failed }
}
