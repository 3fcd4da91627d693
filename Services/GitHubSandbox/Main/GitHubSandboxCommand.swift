import ArgumentParser
import Foundation
import Hummingbird
import Logging
import SandboxService
import ServiceKit

/// `github-sandbox`: a local GitHub REST stand-in serving the merged pull
/// requests of a local git repository (dev and tests only).
@main
struct GitHubSandboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "github-sandbox",
        abstract: "Serve a local git repository's merged pull requests in GitHub's REST shape.",
        discussion: """
            Environment: SANDBOX_REPO_PATH (required), GITHUB_REPOSITORY (default conveyor/example-model), \
            MODEL_BRANCH (default main), PORT (default 9090), LOG_LEVEL.
            """,
        subcommands: [Serve.self, SendWebhook.self], defaultSubcommand: Serve.self)

    /// The stand-in server (the default).
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run the sandbox server.")
        @Option(help: "HTTP port (overrides PORT).") var port: Int?
        @Option(help: "Local git repository (overrides SANDBOX_REPO_PATH).") var repo: String?
        @Option(help: "Address to listen on (0.0.0.0 inside a container).") var host: String = "127.0.0.1"

        func run() async throws {
            var environment = ProcessInfo.processInfo.environment
            if let repo { environment["SANDBOX_REPO_PATH"] = repo }
            var configuration = try SandboxConfiguration.fromEnvironment(EnvironmentReader(environment))
            if let port { configuration.port = port }
            ServiceHost.bootstrap(service: "github-sandbox", logLevel: configuration.logLevel)
            let logger = Logger(label: "github-sandbox")
            configuration.server.host = host
            let app = ServiceHost.application(
                name: "github-sandbox", server: configuration.server, port: configuration.port,
                router: SandboxApp.makeRouter(configuration: configuration), services: [], logger: logger)
            try await app.runService()
        }
    }

    /// Sends a signed (or wrongly signed) webhook delivery, as GitHub would.
    struct SendWebhook: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "POST a signed pull_request webhook for a PR of the repository (merged, or open).")
        @Option(help: "Where to send it, e.g. http://127.0.0.1:8080/webhook.") var url: String
        @Option(help: "The webhook secret (default GITHUB_WEBHOOK_SECRET).") var secret: String?
        @Option(help: "Pull request number in the repository (SANDBOX_REPO_PATH or --repo).") var pr: Int?
        @Option(help: "Send this file as the body instead.") var payload: String?
        @Option(help: "The X-GitHub-Event header.") var event: String = "pull_request"
        @Option(help: "The action (default closed for a merge, synchronize for an open PR: opened, reopened…).")
        var action: String?
        @Option(help: "The X-GitHub-Delivery id (default a new UUID).") var delivery: String?
        @Option(help: "Local git repository (overrides SANDBOX_REPO_PATH).") var repo: String?
        @Flag(help: "Sign with the wrong secret (the receiver must refuse it).") var wrongSignature = false

        func run() async throws {
            let environment = ProcessInfo.processInfo.environment
            guard let secret = secret ?? environment["GITHUB_WEBHOOK_SECRET"] else {
                throw ValidationError("give --secret or set GITHUB_WEBHOOK_SECRET")
            }
            let body: Data
            if let payload {
                body = try Data(contentsOf: URL(fileURLWithPath: payload))
            } else if let pr {
                guard let path = repo ?? environment["SANDBOX_REPO_PATH"] else {
                    throw ValidationError("give --repo or set SANDBOX_REPO_PATH to build the payload of --pr")
                }
                let pulls = GitPullRequests(
                    repositoryPath: URL(fileURLWithPath: path), baseBranch: environment["MODEL_BRANCH"] ?? "main",
                    fullName: environment["GITHUB_REPOSITORY"] ?? "conveyor/example-model")
                body = try await WebhookSender.pullRequestPayload(pulls, number: pr, action: action)
            } else {
                throw ValidationError("give --pr or --payload")
            }
            let response = try await WebhookSender.send(
                url: url, event: event, body: body, secret: secret, delivery: delivery ?? UUID().uuidString,
                wrongSignature: wrongSignature)
            print("\(response.status.code) \(response.text)")
            if response.status.kind != .successful { throw ExitCode(1) }
        }
    }
}
