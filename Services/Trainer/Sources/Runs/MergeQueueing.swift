/// What checking for new merges did: the pull request queued, if any, and
/// the merges ignored because they are dated in the future.
public struct MergeQueueing: Sendable, Equatable {
    /// The pull request number of the run queued.
    public let queued: Int64?
    /// Pull requests whose `merged_at` is in the future (ignored).
    public let futureDated: [Int64]
}
