import ArgumentParser
import Foundation
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
            """)

    @Option(help: "HTTP port (overrides PORT).") var port: Int?
    @Option(help: "Local git repository (overrides SANDBOX_REPO_PATH).") var repo: String?
    @Option(help: "Address to listen on (0.0.0.0 inside a container).") var host: String = "127.0.0.1"

    func run() async throws {
        var environment = ProcessInfo.processInfo.environment
        if let repo { environment["SANDBOX_REPO_PATH"] = repo }
        var configuration = try SandboxConfiguration.fromEnvironment(EnvironmentReader(environment))
        if let port { configuration.port = port }
        ServiceHost.bootstrap(logLevel: configuration.logLevel)
        let logger = Logger(label: "github-sandbox")
        try await ServiceHost.run(
            name: "github-sandbox", host: host, port: configuration.port,
            router: SandboxApp.makeRouter(configuration: configuration), services: [], logger: logger)
    }
}
