import Foundation
import ServiceKit

/// Checks out exactly one commit of the model repository into a fresh
/// directory. The token, when used, goes through git's environment (an
/// `http.extraHeader` config entry), never the command line or the logs.
public struct SourceCheckout: Sendable {
    let repositoryURL: String
    let token: String?

    public init(repositoryURL: String, token: String?) {
        self.repositoryURL = repositoryURL
        self.token = token
    }

    /// Clones into `directory` and checks out `commit` (detached).
    public func checkout(commit: String, into directory: URL) async throws {
        guard commit.count >= 7, commit.allSatisfy(\.isHexDigit) else {
            throw TrainingFailure(stage: "clone", reason: "\"\(commit)\" is not a commit sha")
        }
        try? FileManager.default.removeItem(at: directory)
        try FileManager.default.createDirectory(
            at: directory.deletingLastPathComponent(), withIntermediateDirectories: true)
        var environment = ["GIT_TERMINAL_PROMPT": "0"]
        if let token, repositoryURL.hasPrefix("https://") {
            let basic = Data("x-access-token:\(token)".utf8).base64EncodedString()
            environment["GIT_CONFIG_COUNT"] = "1"
            environment["GIT_CONFIG_KEY_0"] = "http.extraHeader"
            environment["GIT_CONFIG_VALUE_0"] = "Authorization: Basic \(basic)"
        }
        let secrets = [token ?? "", environment["GIT_CONFIG_VALUE_0"] ?? ""]
        do {
            try await CommandRunner.run(
                ["git", "clone", "--quiet", "--no-checkout", "--", repositoryURL, directory.path],
                environment: environment, redacting: secrets)
            try await CommandRunner.run(
                ["git", "-C", directory.path, "-c", "advice.detachedHead=false", "checkout", "--quiet", commit],
                environment: environment, redacting: secrets)
        } catch let error as CommandError {
            throw TrainingFailure(stage: "clone", reason: error.description)
        }
    }
}
