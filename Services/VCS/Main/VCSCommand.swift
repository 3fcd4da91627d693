import ArgumentParser
import Foundation
import Logging
import ServiceKit
import VCSService

/// `vcs`: pulls GitHub pull requests into Postgres as Singer records.
@main
struct VCSCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vcs",
        abstract: "Sync GitHub pull requests into Postgres (Singer target-postgres layout).",
        discussion: """
            Environment: DATABASE_URL, GITHUB_REPOSITORY (owner/name) required; GITHUB_API_URL \
            (default https://api.github.com), GITHUB_TOKEN, GITHUB_WEBHOOK_SECRET, ADMIN_TOKEN, \
            PORT (default 8080), LOG_LEVEL.
            """)

    @Option(help: "HTTP port (overrides PORT).") var port: Int?

    func run() async throws {
        let env = EnvironmentReader()
        var configuration = try VCSConfiguration.fromEnvironment(env)
        if let port { configuration.port = port }
        ServiceHost.bootstrap(logLevel: configuration.logLevel)
        try await VCSApp.run(configuration: configuration, logger: Logger(label: "vcs"))
    }
}
