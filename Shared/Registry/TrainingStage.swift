/// A step of a training run: where a failed run stopped (`training_runs.reason`,
/// `conveyor_run_failures_total{stage}`) and the keys of a run's `timings`
/// (`conveyor_run_stage_seconds{stage}`, the runs page's stages).
public enum TrainingStage: String, RegistryValue {
    /// Taking the run from the queue (a run abandoned after lost leases fails here).
    case claim
    /// Checking out the merge commit.
    case clone
    /// Reading and parsing `conveyor.yaml`.
    case manifest
    /// Fetching data kept outside the repository (by URL and hash, or DVC).
    case data
    /// Reading the data files (or the committed model).
    case load
    /// Checking the data against the feature schema.
    case validate
    /// The repository's own tests (`tests:`), before anything trains.
    case tests
    /// Building the Python environment of `train.requirements`.
    case environment
    /// The repository's own `train:` command.
    case command
    /// Conveyor's training and evaluation.
    case train
    /// The shadow replay of the live model's logged requests.
    case shadow
    /// Writing the artifact.
    case write
    /// Re-checking a passed preview's model for the merge of its tree.
    case reuse
    /// The whole run (its timeout).
    case run
    /// Anything else.
    case other
}
