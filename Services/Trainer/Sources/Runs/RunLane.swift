/// The two queues a trainer works on side by side. Merges and retrains deploy;
/// previews only report. A preview that trains for minutes, or whose GitHub
/// reports retry with backoff, must never hold up a merge (the loop promises
/// "merged → served in about a second"), so each lane has its own worker: a
/// preview is never cancelled or restarted, and a merge starts at once. They
/// share the machine's cores while both train.
public enum RunLane: Sendable, CaseIterable {
    /// `merge` and `retrain` runs.
    case deployments
    /// `preview` runs.
    case previews
}
