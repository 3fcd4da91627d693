import Foundation
import Subprocess

/// Reads the pull requests of a local git repository: every merge commit on
/// the first-parent history of the base branch whose subject reads
/// `Merge pull request #N from owner/branch` is a merged PR, titled by the
/// first line of the commit body; every `refs/pull/N/head` whose N is not
/// merged is an open PR at that commit, titled by its subject (from a fork
/// when `git config sandbox.pullN.headrepo owner/fork` says so).
public struct GitPullRequests: Sendable {
    public let repositoryPath: URL
    public let baseBranch: String
    public let fullName: String
    /// Added to a pull request's number to make its `id` (`SANDBOX_ID_BASE`): GitHub's ids are
    /// unique across repositories, so two sandboxes standing in for two repositories differ here.
    public let idBase: Int

    public init(repositoryPath: URL, baseBranch: String, fullName: String, idBase: Int = 1_000_000) {
        self.repositoryPath = repositoryPath
        self.baseBranch = baseBranch
        self.fullName = fullName
        self.idBase = idBase
    }

    /// All pull requests, oldest first, in GitHub's JSON shape.
    public func list() async throws -> [[String: Any & Sendable]] {
        let separator = "\u{1f}"
        let terminator = "\u{1e}"
        let format = ["%H", "%P", "%cI", "%aI", "%an", "%s", "%b"].joined(separator: separator) + terminator
        let output = try await CommandRunner.run(
            [
                "git", "-C", repositoryPath.path, "log", "--first-parent", "--merges", "--reverse",
                "--format=\(format)", baseBranch,
            ]
        ).stdout
        var pulls: [[String: Any & Sendable]] = []
        for entry in output.components(separatedBy: terminator) {
            let fields = entry.trimmingCharacters(in: .newlines).components(separatedBy: separator)
            guard fields.count == 7, let number = Self.number(inSubject: fields[5]) else { continue }
            let parents = fields[1].split(separator: " ").map(String.init)
            guard parents.count >= 2 else { continue }
            let headRef =
                fields[5].components(separatedBy: " from ").last.map {
                    $0.split(separator: "/", maxSplits: 1).last.map(String.init) ?? $0
                } ?? "branch-\(number)"
            let title = fields[6].split(separator: "\n").first.map(String.init) ?? fields[5]
            let mergedAt = Self.utc(fields[2])
            let login = fields[4].lowercased().replacingOccurrences(of: " ", with: "-")
            pulls.append([
                "id": idBase + number,
                "node_id": "PR_sandbox_\(number)",
                "number": number,
                "state": "closed",
                "locked": false,
                "title": title,
                "body": fields[6].trimmingCharacters(in: .whitespacesAndNewlines),
                "html_url": "https://github.com/\(fullName)/pull/\(number)",
                "url": "/repos/\(fullName)/pulls/\(number)",
                "user": [
                    "login": login, "id": 100 + login.utf8.reduce(0) { ($0 * 31 + Int($1)) % 100_000 }, "type": "User",
                ] as [String: Any & Sendable],
                "labels": [] as [Any & Sendable],
                "created_at": Self.utc(fields[3]),
                "updated_at": mergedAt,
                "closed_at": mergedAt,
                "merged_at": mergedAt,
                "merge_commit_sha": fields[0],
                "head": [
                    "ref": headRef, "sha": parents[1],
                    "label": "\(fullName.split(separator: "/").first ?? ""):\(headRef)",
                    "repo": ["full_name": fullName] as [String: Any & Sendable],
                ]
                    as [String: Any & Sendable],
                "base": [
                    "ref": baseBranch, "sha": parents[0],
                    "repo": ["full_name": fullName] as [String: Any & Sendable],
                ] as [String: Any & Sendable],
                "draft": false,
            ])
        }
        let merged = Set(pulls.compactMap { $0["number"] as? Int })
        return pulls + (try await openPulls(excluding: merged))
    }

    /// `refs/pull/N/head` refs whose N is not merged, as open pull requests.
    private func openPulls(excluding merged: Set<Int>) async throws -> [[String: Any & Sendable]] {
        let separator = "\u{1f}"
        let refs = try await CommandRunner.run(
            [
                "git", "-C", repositoryPath.path, "for-each-ref",
                "--format="
                    + ["%(refname)", "%(objectname)", "%(committerdate:iso-strict)", "%(authorname)", "%(subject)"]
                    .joined(separator: separator),
                "refs/pull/",
            ]
        ).stdout
        guard !refs.isEmpty else { return [] }
        let baseSHA = try await CommandRunner.run(["git", "-C", repositoryPath.path, "rev-parse", baseBranch]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let forks = try await headRepositories()
        var pulls: [[String: Any & Sendable]] = []
        for line in refs.split(separator: "\n") {
            let fields = line.components(separatedBy: separator)
            let name = fields[0].split(separator: "/")
            guard fields.count == 5, name.count == 4, name[3] == "head", let number = Int(name[2]),
                !merged.contains(number)
            else { continue }
            let updated = Self.utc(fields[2])
            let login = fields[3].lowercased().replacingOccurrences(of: " ", with: "-")
            let headRepository = forks[number] ?? fullName
            pulls.append([
                "id": idBase + number, "node_id": "PR_sandbox_\(number)", "number": number, "state": "open",
                "locked": false, "title": fields[4], "body": "",
                "html_url": "https://github.com/\(fullName)/pull/\(number)",
                "url": "/repos/\(fullName)/pulls/\(number)",
                "user": [
                    "login": login, "id": 100 + login.utf8.reduce(0) { ($0 * 31 + Int($1)) % 100_000 }, "type": "User",
                ]
                    as [String: Any & Sendable],
                // closed_at, merged_at and merge_commit_sha are null: left out, as the target reads a missing field.
                "labels": [] as [Any & Sendable], "created_at": updated, "updated_at": updated,
                "head": [
                    "ref": "pr-\(number)", "sha": fields[1],
                    "label": "\(headRepository.split(separator: "/").first ?? ""):pr-\(number)",
                    "repo": ["full_name": headRepository] as [String: Any & Sendable],
                ] as [String: Any & Sendable],
                "base": [
                    "ref": baseBranch, "sha": baseSHA, "repo": ["full_name": fullName] as [String: Any & Sendable],
                ] as [String: Any & Sendable],
                "draft": false,
            ])
        }
        return pulls
    }

    /// `sandbox.pullN.headrepo` settings: the PRs that come from a fork, and its `owner/name`.
    private func headRepositories() async throws -> [Int: String] {
        let output =
            (try? await CommandRunner.run(
                ["git", "-C", repositoryPath.path, "config", "--get-regexp", #"^sandbox\.pull[0-9]+\.headrepo$"#]
            ).stdout) ?? ""
        var forks: [Int: String] = [:]
        for line in output.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2,
                let number = Int(parts[0].dropFirst("sandbox.pull".count).prefix { $0.isNumber })
            else { continue }
            forks[number] = String(parts[1])
        }
        return forks
    }

    static func number(inSubject subject: String) -> Int? {
        guard subject.hasPrefix("Merge pull request #") else { return nil }
        let digits = subject.dropFirst("Merge pull request #".count).prefix { $0.isNumber }
        return Int(digits)
    }

    /// Git's strict ISO dates carry the committer's offset; GitHub answers in UTC.
    static func utc(_ isoDate: String) -> String {
        guard let date = ISO8601DateFormatter().date(from: isoDate) else { return isoDate }
        return ISO8601DateFormatter().string(from: date)
    }
}
