import Foundation
import Migrations
import Postgres
import Registry
import ServiceKit

/// A merged pull request that a run trains.
public struct MergedPullRequest: Sendable, Equatable {
    public let number: Int64
    public let title: String?
    public let author: String?
    /// The commit a run trains: the merge commit, or a preview's head commit.
    public let mergeCommitSHA: String
    /// When it was merged (a preview's: when it was queued).
    public let mergedAt: Date
}
