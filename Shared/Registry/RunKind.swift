/// Why a training run exists, as stored in `training_runs.kind`.
public enum RunKind: String, RegistryValue {
    /// A merged pull request: deployed when its gates pass.
    case merge
    /// An admin's `POST /runs` retraining of a merged commit: deployed like a merge.
    case retrain
    /// An open pull request's head, trained and gated but never deployed.
    case preview
}
