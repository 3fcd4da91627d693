import Foundation
import Subprocess

/// Reads the pull requests of a local git repository: every merge commit on
/// the first-parent history of the base branch whose subject reads
/// `Merge pull request #N from owner/branch` is a merged PR, titled by the
/// first line of the commit body.
public struct GitPullRequests: Sendable {
    public let repositoryPath: URL
    public let baseBranch: String
    public let fullName: String

    public init(repositoryPath: URL, baseBranch: String, fullName: String) {
        self.repositoryPath = repositoryPath
        self.baseBranch = baseBranch
        self.fullName = fullName
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
                "id": 1_000_000 + number,
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
                ]
                    as [String: Any & Sendable],
                "base": ["ref": baseBranch, "sha": parents[0]] as [String: Any & Sendable],
                "draft": false,
            ])
        }
        return pulls
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
