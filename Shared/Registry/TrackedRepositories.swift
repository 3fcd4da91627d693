import Foundation
import Yams

/// The repositories a Conveyor stack follows, read the same way by `vcs` and
/// `trainer`: the YAML file `MODELS_FILE` names,
///
/// ```yaml
/// repositories:
///   - {repository: acme/pricing, url: https://github.com/acme/pricing.git, branch: main}
///   - {repository: acme/churn, url: /srv/git/churn, branch: production}
/// ```
///
/// or, without it, the one repository of `GITHUB_REPOSITORY`, `MODEL_REPO_URL` and
/// `MODEL_BRANCH` (as before several were possible).
public enum TrackedRepositories {
    /// A setting that cannot be used: the variable (or the file's field) and why.
    public struct Problem: Error, Sendable, Equatable, CustomStringConvertible {
        public let variable: String
        public let problem: String
        public var description: String { "\(variable) \(problem)" }
    }

    /// The repositories the environment names (`lookup` reads a variable). `needsName`: every
    /// entry must have its `owner/name` (vcs reads pull requests by it).
    public static func read(needsName: Bool, _ lookup: (String) -> String?) throws(Problem) -> [TrackedRepository] {
        if let path = lookup("MODELS_FILE"), !path.isEmpty {
            for variable in ["GITHUB_REPOSITORY", "MODEL_REPO_URL"] where lookup(variable) != nil {
                throw Problem(
                    variable: "MODELS_FILE", problem: "and \(variable) are both set: list every repository in the file")
            }
            guard let data = FileManager.default.contents(atPath: path) else {
                throw Problem(variable: "MODELS_FILE", problem: "\"\(path)\" cannot be read")
            }
            return try parse(String(decoding: data, as: UTF8.self), needsName: needsName, source: "MODELS_FILE")
        }
        let name = lookup("GITHUB_REPOSITORY").flatMap { $0.isEmpty ? nil : $0 }
        if let name, !TrackedRepository.isOwnerAndName(name) {
            throw Problem(variable: "GITHUB_REPOSITORY", problem: "\"\(name)\" is not owner/name")
        }
        if needsName, name == nil {
            throw Problem(variable: "GITHUB_REPOSITORY", problem: "is required (or MODELS_FILE)")
        }
        guard let url = lookup("MODEL_REPO_URL").flatMap({ $0.isEmpty ? nil : $0 }) ?? name.map(githubURL) else {
            throw Problem(variable: "MODEL_REPO_URL", problem: "is required when GITHUB_REPOSITORY is not set")
        }
        return [TrackedRepository(repository: name, url: url, branch: lookup("MODEL_BRANCH") ?? "main")]
    }

    /// The entries of a models file; every problem names `source`, the entry and the field.
    public static func parse(_ yaml: String, needsName: Bool, source: String = "MODELS_FILE") throws(Problem)
        -> [TrackedRepository]
    {
        let document: Any?
        do {
            document = try Yams.load(yaml: yaml)
        } catch {
            throw Problem(variable: source, problem: "is not valid YAML: \(error)")
        }
        guard let root = document as? [String: Any], let entries = root["repositories"] as? [Any] else {
            throw Problem(variable: source, problem: "must be a mapping with a list \"repositories\"")
        }
        if let extra = root.keys.sorted().first(where: { $0 != "repositories" }) {
            throw Problem(variable: source, problem: "has an unknown key \"\(extra)\" (only \"repositories\")")
        }
        guard !entries.isEmpty else { throw Problem(variable: source, problem: "lists no repository") }
        var repositories: [TrackedRepository] = []
        for (index, entry) in entries.enumerated() {
            let field = "repositories[\(index)]"
            guard let fields = entry as? [String: Any] else {
                throw Problem(variable: "\(source) \(field)", problem: "must be a mapping")
            }
            let known: Set = ["repository", "url", "branch", "api_url"]
            if let extra = fields.keys.sorted().first(where: { !known.contains($0) }) {
                throw Problem(
                    variable: "\(source) \(field)",
                    problem: "has an unknown key \"\(extra)\" (repository, url, branch, api_url)")
            }
            func text(_ key: String) throws(Problem) -> String? {
                guard let value = fields[key] else { return nil }
                guard let string = value as? String, !string.isEmpty else {
                    throw Problem(variable: "\(source) \(field).\(key)", problem: "must be a non-empty string")
                }
                return string
            }
            let name = try text("repository")
            if let name, !TrackedRepository.isOwnerAndName(name) {
                throw Problem(variable: "\(source) \(field).repository", problem: "\"\(name)\" is not owner/name")
            }
            if needsName, name == nil {
                throw Problem(variable: "\(source) \(field).repository", problem: "is required (owner/name)")
            }
            guard let url = try text("url") ?? name.map(githubURL) else {
                throw Problem(variable: "\(source) \(field).url", problem: "is required without a repository")
            }
            let apiURL = try text("api_url")
            if let apiURL, !(apiURL.hasPrefix("http://") || apiURL.hasPrefix("https://")) {
                throw Problem(variable: "\(source) \(field).api_url", problem: "\"\(apiURL)\" is not an http(s) URL")
            }
            let repository = TrackedRepository(
                repository: name, url: url, branch: try text("branch") ?? "main",
                apiURL: apiURL.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 })
            if repositories.contains(where: { $0.key == repository.key }) {
                throw Problem(variable: "\(source) \(field)", problem: "repeats \"\(repository.key)\"")
            }
            repositories.append(repository)
        }
        return repositories
    }

    /// GitHub's clone URL of `owner/name`.
    static func githubURL(_ name: String) -> String { "https://github.com/\(name).git" }
}
