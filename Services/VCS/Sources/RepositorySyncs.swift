import Foundation
import JSON

/// The syncs of every followed repository, run side by side: one repository's
/// failing or rate-limited sync never holds up or fails another's.
public struct RepositorySyncs: Sendable {
    public let syncs: [PullRequestSync]

    public init(_ syncs: [PullRequestSync]) {
        precondition(!syncs.isEmpty, "vcs follows at least one repository")
        self.syncs = syncs
    }

    /// The repositories' `owner/name`s, in configuration order.
    public var names: [String] { syncs.map(\.tap.repository) }

    /// What one repository's sync did: its summary, or why it failed.
    public struct Outcome: Sendable {
        public let repository: String
        public let result: Result<SyncSummary, any Error>
    }

    /// Syncs every repository now (joining syncs already running), all at once.
    public func syncAll() async -> [Outcome] {
        await withTaskGroup(of: (Int, Outcome).self) { group in
            for (index, sync) in syncs.enumerated() {
                group.addTask {
                    let result: Result<SyncSummary, any Error>
                    do {
                        result = .success(try await sync.sync())
                    } catch {
                        result = .failure(error)
                    }
                    return (index, Outcome(repository: sync.tap.repository, result: result))
                }
            }
            var outcomes: [(Int, Outcome)] = []
            for await outcome in group { outcomes.append(outcome) }
            return outcomes.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }
}
