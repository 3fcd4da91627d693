import Foundation
import Mustache
import Registry

/// Links to the pull request and commit on GitHub, when serving knows the
/// repository (`GITHUB_REPOSITORY`); none otherwise (a sandbox or another host).
struct GitHubLinks: Sendable {
    let repository: String?

    func pullRequest(_ number: Int64) -> String? {
        repository.map { "https://github.com/\($0)/pull/\(number)" }
    }

    func commit(_ sha: String) -> String? {
        repository.map { "https://github.com/\($0)/commit/\(sha)" }
    }
}
