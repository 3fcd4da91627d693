import ArgumentParser
import Foundation
import Hummingbird
import Logging
import ServiceKit
import ServingService

/// `serving`: answers predictions with the deployed model, hot-swapping it.
@main
struct ServingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serving",
        abstract: "Serve predictions from the deployed model; swap to new deployments without downtime.",
        discussion: """
            Environment: DATABASE_URL, ARTIFACTS_DIR required; ADMIN_TOKEN, POLL_INTERVAL (default 15s), \
            MAX_BODY_BYTES (default 1 MiB), MAX_INSTANCES (default 1000), PREDICTION_SPILL_DIR (prediction log \
            batches wait there while Postgres is down; default $TMPDIR/conveyor-prediction-spill), PORT (default 8000), \
            LOG_LEVEL.
            """)

    @Option(help: "HTTP port (overrides PORT).") var port: Int?

    func run() async throws {
        let env = EnvironmentReader()
        var configuration = try ServingConfiguration.fromEnvironment(env)
        if let port { configuration.port = port }
        ServiceHost.bootstrap(service: "serving", logLevel: configuration.logLevel)
        let app = try await ServingApp.buildApplication(configuration: configuration, logger: Logger(label: "serving"))
        try await app.runService()
    }
}
