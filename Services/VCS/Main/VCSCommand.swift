import ArgumentParser
import Foundation
import Hummingbird
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
            SYNC_INTERVAL (optional periodic sync), MAX_RATE_LIMIT_WAIT (default 900s), GITHUB_RETRY_ATTEMPTS \
            (default 6), GITHUB_RETRY_BACKOFF (default 250ms), PORT (default 8080), LOG_LEVEL.
            """,
        subcommands: [Serve.self, Tap.self, Target.self], defaultSubcommand: Serve.self)

    /// The service: `GET /checkout`, `POST /webhook`.
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run the vcs service (the default).")
        @Option(help: "HTTP port (overrides PORT).") var port: Int?

        func run() async throws {
            var configuration = try VCSConfiguration.fromEnvironment()
            if let port { configuration.port = port }
            ServiceHost.bootstrap(service: "vcs", logLevel: configuration.logLevel)
            let app = try await VCSApp.buildApplication(configuration: configuration, logger: Logger(label: "vcs"))
            try await app.runService()
        }
    }

    /// `vcs tap`: the Singer tap alone, messages on stdout.
    struct Tap: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the pull_requests Singer stream (SCHEMA, RECORD, STATE) to stdout.",
            discussion: "Reads GITHUB_REPOSITORY, GITHUB_API_URL, GITHUB_TOKEN. Logs go to stderr.")
        @Option(help: "A file holding the last STATE value, to sync incrementally from it.") var state: String?

        func run() async throws {
            let configuration = try VCSConfiguration.fromEnvironment(needsDatabase: false)
            LogSetup.bootstrap(level: configuration.logLevel)
            try await SingerCommands.tap(
                configuration: configuration, statePath: state, logger: Logger(label: "vcs-tap"))
        }
    }

    /// `vcs target`: the Singer target alone, messages from stdin.
    struct Target: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load a Singer stream from stdin into Postgres (target-postgres layout).",
            discussion: "Reads DATABASE_URL. Each committed STATE is echoed to stdout; logs go to stderr.")
        @Option(help: "The singer_state row to keep STATE in (default tap-github:$GITHUB_REPOSITORY).")
        var stateKey: String?
        @Option(help: "Records per load transaction.") var batchSize: Int = 5000

        func run() async throws {
            let env = EnvironmentReader()
            LogSetup.bootstrap(level: try env.logLevel())
            let key = stateKey ?? env.string("GITHUB_REPOSITORY").map { "tap-github:\($0)" } ?? "singer"
            try await SingerCommands.target(
                databaseURL: try env.required("DATABASE_URL"), stateKey: key, batchSize: batchSize,
                logger: Logger(label: "vcs-target"))
        }
    }
}
