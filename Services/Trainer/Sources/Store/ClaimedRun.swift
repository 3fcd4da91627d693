import Foundation
import Migrations
import Postgres
import Registry
import ServiceKit

/// A run claimed by this trainer, under a lease it must keep renewing.
public struct ClaimedRun: Sendable {
    public let id: Int64
    public let pullRequest: MergedPullRequest
    /// How many trainers have claimed it (more than one means a lease expired).
    public let attempts: Int
    /// Why it was queued: a merge, or an admin's retrain request.
    public let kind: RunKind
    /// The repository it came from (cloned from its URL; a preview reports on it).
    public let repository: TrackedRepository
}
