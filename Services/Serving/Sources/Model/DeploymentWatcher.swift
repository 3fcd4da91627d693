import Foundation
import Learning
import Logging
import Metrics
import Migrations
import NIOPosix
import Postgres
import Registry
import ServiceKit
import ServiceLifecycle

/// Follows the `deployments` table: on NOTIFY (or every poll interval) it
/// loads the newest deployed artifact in the background, checks its content
/// hash, warms it and swaps it in. A version that fails to load is logged and
/// the current model keeps serving.
public struct DeploymentWatcher: Service, CustomStringConvertible {
    /// A plain name for lifecycle logs (the default would print the database URL).
    public var description: String { "DeploymentWatcher" }

    let database: PostgresClient
    let store: ModelStore
    let artifactsDirectory: URL
    let pollInterval: Duration
    let logger: Logger

    public func run() async throws {
        await WakeLoop.run(
            database: database, channel: Schema.deploymentsChannel, pollInterval: pollInterval, logger: logger
        ) { await refresh() }
    }

    /// Loads and swaps to the newest deployment if it is not the one serving.
    func refresh() async {
        do {
            guard let deployment = try await DeploymentRecord.latest(database) else { return }
            if let current = store.model, current.deployment.deploymentID == deployment.deploymentID { return }
            let start = ContinuousClock.now
            let directory = artifactsDirectory.appendingPathComponent(deployment.artifactPath, isDirectory: true)
            let artifact = try await NIOThreadPool.singleton.runIfActive {
                let artifact = try ArtifactStore.load(from: directory, expectedSHA256: deployment.artifactSHA256)
                try Self.warm(artifact)
                return artifact
            }
            let previous = store.model?.deployment.version
            store.swap(to: LoadedModel(artifact: artifact, deployment: deployment))
            let elapsed = ContinuousClock.now - start
            Counter(label: "conveyor_model_swaps_total").increment()
            Timer(label: "conveyor_model_load_seconds").recordNanoseconds(
                elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
            logger.info(
                "model swapped",
                metadata: [
                    "version": "\(deployment.version)", "previous": "\(previous ?? "none")",
                    "reason": "\(deployment.reason)", "load": "\(elapsed)",
                ])
        } catch {
            Counter(label: "conveyor_model_load_failures_total").increment()
            logger.error(
                "could not load the deployed model; the current one keeps serving", metadata: ["error": "\(error)"])
        }
    }

    /// Runs one prediction so the first request does not pay for cold paths,
    /// and fails a model that cannot predict at all.
    static func warm(_ artifact: ModelArtifact) throws {
        let row = [Double](repeating: 0, count: artifact.encoder.width + (artifact.forecast?.inputWidth ?? 0))
        guard artifact.predict(encoded: row).isFinite else {
            throw ArtifactStore.LoadError(problem: "model \(artifact.version) predicts a non-finite value")
        }
    }
}
