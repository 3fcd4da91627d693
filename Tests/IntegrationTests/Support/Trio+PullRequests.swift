import Foundation
import JSON
import Postgres
import Subprocess

/// Open pull requests in the trio's model repository, kept as GitHub keeps
/// them (`refs/pull/N/head`, which the sandbox serves as open PRs), and what
/// the trainer reported on them at the sandbox.
extension Trio {
    /// Runs git in the model repository as Tess, every commit dated after all commits so far
    /// (GitHub's updated_at and merge times only grow; the example's commits end in the future).
    func repositoryGit() throws -> ([String]) throws -> String {
        let repo = modelRepository.path
        let newest = try ChildProcess.run(["git", "-C", repo, "log", "-1", "--all", "--format=%ct"]).stdout
        let stamp =
            "@\(max(Int(Date().timeIntervalSince1970), (Int(newest.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) + 1)) +0000"
        let env = [
            "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp,
            "GIT_AUTHOR_NAME": "Tess Tester", "GIT_AUTHOR_EMAIL": "tess@example.com",
            "GIT_COMMITTER_NAME": "Tess Tester", "GIT_COMMITTER_EMAIL": "tess@example.com",
        ]
        return { arguments in
            let result = try ChildProcess.run(["git", "-C", repo] + arguments, environment: env)
            guard result.status == 0 else { throw HarnessError("git \(arguments): \(result.stderr)") }
            return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    /// Opens (or, when it exists, pushes to) pull request `number`: a commit on branch `pr-N`
    /// making `change`; returns the new head commit.
    @discardableResult
    func pushPullRequest(number: Int, title: String, fork: String? = nil, change: (URL) throws -> Void) throws
        -> String
    {
        let git = try repositoryGit()
        let branch = "pr-\(number)"
        let exists = (try? git(["rev-parse", "--verify", "-q", branch])) != nil
        _ = try git(exists ? ["checkout", "-q", branch] : ["checkout", "-q", "-b", branch, "main"])
        try change(modelRepository)
        _ = try git(["add", "-A"])
        _ = try git(["commit", "-q", "--allow-empty", "-m", title])
        let head = try git(["rev-parse", "HEAD"])
        _ = try git(["update-ref", "refs/pull/\(number)/head", head])
        if let fork { _ = try git(["config", "sandbox.pull\(number).headrepo", fork]) }
        _ = try git(["checkout", "-q", "main"])
        return head
    }

    /// Commits `change` straight onto `main` (no pull request).
    func commitOnMain(_ title: String, change: (URL) throws -> Void) throws {
        let git = try repositoryGit()
        _ = try git(["checkout", "-q", "main"])
        try change(modelRepository)
        _ = try git(["add", "-A"])
        _ = try git(["commit", "-q", "-m", title])
    }

    /// A client of the trio's database (shut it down when done).
    func database() async throws -> PostgresClient { PostgresClient(url: databaseURL, maxConnections: 1) }

    /// The commit statuses the sandbox holds for `commit`, newest first.
    func statuses(_ commit: String) async throws -> [JSONValue] {
        try await get("\(sandboxURL)/repos/conveyor/example-model/commits/\(commit)/statuses").1.arrayValue ?? []
    }

    /// The comments on pull request `number`, oldest first.
    func comments(_ number: Int) async throws -> [JSONValue] {
        try await get("\(sandboxURL)/repos/conveyor/example-model/issues/\(number)/comments").1.arrayValue ?? []
    }

    /// Waits until `commit`'s newest `conveyor/model` status is final (not pending) and returns them all.
    func finalStatuses(_ commit: String, timeout: Double = 60) async throws -> [JSONValue] {
        try await eventually(timeout: timeout, "a final conveyor/model status on \(commit.prefix(7))") {
            let statuses = try await statuses(commit)
            guard let newest = statuses.first?["state"]?.stringValue, newest != "pending" else { return nil }
            return statuses
        }
    }

    /// The preview runs of pull request `number`, newest first, as `GET /runs/{id}` shows them.
    func previewRuns(_ number: Int) async throws -> [JSONValue] {
        let (_, runs) = try await get("\(trainerURL)/runs?kind=preview")
        var detailed: [JSONValue] = []
        for run in runs.arrayValue ?? [] where run["pr_number"]?.integerValue == Int64(number) {
            detailed.append(try await get("\(trainerURL)/runs/\(run["id"]?.integerValue ?? 0)").1)
        }
        return detailed
    }
}
