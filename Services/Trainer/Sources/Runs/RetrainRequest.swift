/// What `POST /runs` did with a retrain request.
public enum RetrainRequest: Sendable, Equatable {
    /// A run was queued, with this id.
    case queued(Int64)
    /// The same commit already has a queued or running run (this one).
    case duplicate(of: Int64)
    /// No pull request with that number was merged into the tracked branch.
    case noSuchPullRequest
}
