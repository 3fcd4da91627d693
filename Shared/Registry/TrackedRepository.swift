/// A model repository Conveyor follows: where `vcs` reads its pull requests and
/// `trainer` clones it. Its own `conveyor.yaml` names the model it trains.
public struct TrackedRepository: Sendable, Equatable {
    /// `owner/name` on GitHub (nil only for a trainer given `MODEL_REPO_URL` alone).
    public let repository: String?
    /// What `git clone` is given: an https URL or a local path.
    public let url: String
    /// The branch whose merges are trained.
    public let branch: String
    /// The REST API root its pull requests are read from (nil: `GITHUB_API_URL`).
    public let apiURL: String?

    public init(repository: String?, url: String, branch: String, apiURL: String? = nil) {
        self.repository = repository
        self.url = url
        self.branch = branch
        self.apiURL = apiURL
    }

    /// The key runs record it under (`training_runs.repository`): its `owner/name`, else its URL.
    public var key: String { repository ?? url }

    /// Whether `text` is `owner/name`.
    public static func isOwnerAndName(_ text: String) -> Bool {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        return parts.count == 2 && parts.allSatisfy { !$0.isEmpty && !$0.contains(where: \.isWhitespace) }
    }
}
