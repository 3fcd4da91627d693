import Foundation
import Registry
import ServiceKit
import Testing
import TrainerService
import VCSService

/// `MODELS_FILE` and the one-repository variables it replaces, read the same way by vcs and trainer.
@Suite("Followed repositories (MODELS_FILE)")
struct TrackedRepositoriesTests {
    static let file = """
        repositories:
          - {repository: acme/pricing, url: https://github.com/acme/pricing.git, branch: main}
          - {repository: acme/churn, url: /srv/git/churn, branch: production, api_url: "http://127.0.0.1:9/"}
          - {repository: acme/fraud}
        """

    @Test("the issue's file: names, URLs, branches (main by default), a per-repository API root")
    func parsesTheFile() throws {
        let repositories = try TrackedRepositories.parse(Self.file, needsName: true)
        #expect(repositories.map(\.key) == ["acme/pricing", "acme/churn", "acme/fraud"])
        #expect(
            repositories.map(\.url) == [
                "https://github.com/acme/pricing.git", "/srv/git/churn", "https://github.com/acme/fraud.git",
            ])
        #expect(repositories.map(\.branch) == ["main", "production", "main"])
        #expect(repositories.map(\.apiURL) == [nil, "http://127.0.0.1:9", nil])
    }

    @Test(
        "a bad file is refused naming the entry, the field and the problem",
        arguments: [
            ("repositories: []", "MODELS_FILE", "lists no repository"),
            ("[1, 2]", "MODELS_FILE", "must be a mapping"),
            ("repositories: [{repository: acme}]", "MODELS_FILE repositories[0].repository", "not owner/name"),
            ("repositories: [{url: /srv/a}]", "MODELS_FILE repositories[0].repository", "is required"),
            ("repositories: [{repository: a/b, branch: 3}]", "MODELS_FILE repositories[0].branch", "non-empty string"),
            ("repositories: [{repository: a/b, brnach: x}]", "MODELS_FILE repositories[0]", "unknown key \"brnach\""),
            ("repositories: [{repository: a/b}, {repository: a/b}]", "MODELS_FILE repositories[1]", "repeats"),
            ("repositories: [{repository: a/b, api_url: ftp://x}]", "MODELS_FILE repositories[0].api_url", "http(s)"),
            ("repositories: [{repository: a/b}]\nextra: 1", "MODELS_FILE", "unknown key \"extra\""),
            ("repositories: [{repository: a/b", "MODELS_FILE", "not valid YAML"),
        ])
    func refusals(_ yaml: String, _ variable: String, _ problem: String) {
        do {
            _ = try TrackedRepositories.parse(yaml, needsName: true)
            Issue.record("accepted: \(yaml)")
        } catch {
            #expect(error.variable == variable, "\(error)")
            #expect(error.problem.contains(problem), "\(error)")
        }
    }

    @Test("without MODELS_FILE the one-repository variables are a one-entry list; with it they are refused")
    func environment() throws {
        let legacy = try TrackedRepositories.read(needsName: false) {
            ["GITHUB_REPOSITORY": "acme/model", "MODEL_BRANCH": "prod"][$0]
        }
        #expect(
            legacy == [
                TrackedRepository(repository: "acme/model", url: "https://github.com/acme/model.git", branch: "prod")
            ])
        let local = try TrackedRepositories.read(needsName: false) { ["MODEL_REPO_URL": "/srv/model"][$0] }
        #expect(local.map(\.key) == ["/srv/model"], "a trainer given only a path keys runs by it")
        #expect(throws: TrackedRepositories.Problem.self) {
            try TrackedRepositories.read(needsName: true) { ["MODEL_REPO_URL": "/srv/model"][$0] }
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("models-\(UUID().uuidString).yaml")
        try Self.file.write(to: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: path) }
        #expect(try TrackedRepositories.read(needsName: true) { ["MODELS_FILE": path.path][$0] }.count == 3)
        do {
            _ = try TrackedRepositories.read(needsName: true) {
                ["MODELS_FILE": path.path, "GITHUB_REPOSITORY": "acme/model"][$0]
            }
            Issue.record("both accepted")
        } catch {
            #expect(error.variable == "MODELS_FILE" && error.problem.contains("GITHUB_REPOSITORY"), "\(error)")
        }
    }

    @Test("vcs and trainer read the same file; vcs refuses an entry without owner/name")
    func services() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("models-\(UUID().uuidString).yaml")
        try Self.file.write(to: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: path) }
        let environment = [
            "MODELS_FILE": path.path, "DATABASE_URL": "postgresql://localhost/x", "ARTIFACTS_DIR": "/tmp/artifacts",
        ]
        let vcs = try VCSConfiguration.fromEnvironment(EnvironmentReader(environment))
        let trainer = try TrainerConfiguration.fromEnvironment(EnvironmentReader(environment))
        #expect(vcs.repositories == trainer.repositories)
        try "repositories: [{url: /srv/a}]".write(to: path, atomically: true, encoding: .utf8)
        #expect(throws: ConfigurationError.self) {
            try VCSConfiguration.fromEnvironment(EnvironmentReader(environment))
        }
        #expect(
            try TrainerConfiguration.fromEnvironment(EnvironmentReader(environment)).repositories.map(\.key) == [
                "/srv/a"
            ])
    }
}
