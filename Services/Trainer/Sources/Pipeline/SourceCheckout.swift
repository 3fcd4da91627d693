import Crypto
import Foundation
import Subprocess

/// Checks out exactly one commit of the model repository into a fresh
/// directory, from a local mirror that is cloned once and fetched afterwards.
/// The token, when used, goes through git's environment (an
/// `http.extraHeader` config entry), never the command line or the logs.
public struct SourceCheckout: Sendable {
    let repositoryURL: String
    let token: String?
    /// `<WORK_DIR>/mirror-<hash of the URL>.git`, shared by the trainers of one
    /// host under a file lock. Keyed by the repository URL, so a trainer
    /// restarted with another `MODEL_REPO_URL` (or two trainers of different
    /// repositories sharing a `WORK_DIR`) never fetches the wrong repository.
    let mirror: URL

    public init(repositoryURL: String, token: String?, workDirectory: URL) {
        self.repositoryURL = repositoryURL
        self.token = token
        self.mirror = workDirectory.appendingPathComponent(Self.mirrorName(for: repositoryURL), isDirectory: true)
    }

    /// `mirror-` and the first 16 hex digits of the URL's SHA-256, then `.git`.
    static func mirrorName(for repositoryURL: String) -> String {
        let digest = SHA256.hash(data: Data(repositoryURL.utf8)).prefix(8).map { String(format: "%02x", $0) }.joined()
        return "mirror-\(digest).git"
    }

    /// Updates the mirror, then clones it into `directory` and checks out `commit` (detached).
    /// Returns what happened to the mirror ("cloned" or "fetched"). Cancelling
    /// the task kills the running git (its whole process group); a transfer
    /// slower than 1 kB/s for 30 s fails by itself.
    @discardableResult
    public func checkout(commit: String, into directory: URL) async throws -> String {
        try await withCancellationToken { cancellation in
            try await checkout(commit: commit, into: directory, cancellation: cancellation)
        }
    }

    private func checkout(commit: String, into directory: URL, cancellation: CancellationToken) async throws -> String {
        guard commit.count >= 7, commit.count <= 64, commit.allSatisfy(\.isHexDigit) else {
            throw TrainingFailure(stage: .clone, reason: "\"\(commit)\" is not a commit sha")
        }
        var environment = [
            "GIT_TERMINAL_PROMPT": "0", "GIT_HTTP_LOW_SPEED_LIMIT": "1000", "GIT_HTTP_LOW_SPEED_TIME": "30",
        ]
        if let token, repositoryURL.hasPrefix("https://") {
            let basic = Data("x-access-token:\(token)".utf8).base64EncodedString()
            environment["GIT_CONFIG_COUNT"] = "1"
            environment["GIT_CONFIG_KEY_0"] = "http.extraHeader"
            environment["GIT_CONFIG_VALUE_0"] = "Authorization: Basic \(basic)"
        }
        let secrets = [token ?? "", environment["GIT_CONFIG_VALUE_0"] ?? ""].filter { !$0.isEmpty }
        let (mirror, url, gitEnvironment) = (mirror, repositoryURL, environment)
        return try await BlockingWork.run {
            try FileManager.default.createDirectory(
                at: mirror.deletingLastPathComponent(), withIntermediateDirectories: true)
            try? FileManager.default.removeItem(at: directory)
            func git(_ arguments: [String]) throws {
                let result = try ChildProcess.run(
                    ["git"] + arguments, environment: gitEnvironment, cancellation: cancellation)
                guard result.status == 0 else {
                    var message =
                        "git \(arguments.first ?? ""): \(result.stderr.trimmingCharacters(in: .whitespacesAndNewlines))"
                    for secret in secrets { message = message.replacingOccurrences(of: secret, with: "***") }
                    throw TrainingFailure(stage: .clone, reason: String(message.suffix(2000)))
                }
            }
            let action = try FileLock.holding(mirror.path + ".lock", cancellation: cancellation) {
                () throws -> String in
                let action: String
                if FileManager.default.fileExists(atPath: mirror.appendingPathComponent("HEAD").path) {
                    try git(["-C", mirror.path, "fetch", "--quiet", "--prune", "origin"])
                    action = "fetched"
                } else {
                    try? FileManager.default.removeItem(at: mirror)
                    try git(["clone", "--quiet", "--mirror", "--", url, mirror.path])
                    action = "cloned"
                }
                // A merge commit that no branch points to (e.g. refs/pull/N/merge) is fetched by sha.
                if (try? ChildProcess.run(["git", "-C", mirror.path, "cat-file", "-e", "\(commit)^{commit}"]))?.status
                    != 0
                {
                    try git(["-C", mirror.path, "fetch", "--quiet", "origin", commit])
                }
                try git(["clone", "--quiet", "--no-checkout", "--local", "--", mirror.path, directory.path])
                return action
            }
            try git(["-C", directory.path, "-c", "advice.detachedHead=false", "checkout", "--quiet", commit])
            return action
        }
    }
}
