import Foundation
import Learning
import Logging
import Metrics
import Subprocess
import Synchronization

/// What serving needs to run repositories' Python models: where environments
/// are built (from each artifact's frozen requirements, once per host, or
/// found ready when the trainer on this host built them), how many workers a
/// version gets and their limits, and what the last preparation said, for
/// `/health/ready`.
final class PythonRuntime: Sendable {
    /// `PYTHON_*` settings.
    struct Settings: Sendable {
        /// `PYTHON_WORKERS`: workers per live version (default: the number of cores).
        var workers: Int
        /// `PYTHON_MEMORY_LIMIT`: each worker's address-space limit in bytes (nil: none).
        var memoryLimit: Int?
        /// `PYTHON_PREDICT_TIMEOUT`: one call's limit before its worker is killed (504).
        var predictTimeout: Duration
        /// `PYTHON_ENVIRONMENTS`: where environments are built and cached.
        var environments: URL
        /// `SANDBOX`: how the workers are isolated.
        var sandbox: Sandbox
        /// `PYTHON_MAX_BATCH`: most rows one call coalesces from queued requests (1: no batching).
        var maxBatchRows: Int = 64
        /// How long building one environment may take.
        var buildTimeout: Duration = .seconds(1200)
    }

    let settings: Settings
    private let logger: Logger
    /// Why the newest Python version is not live yet (building its environment, or failed), if it is not.
    private let pending = Mutex<String?>(nil)

    init(settings: Settings, logger: Logger) {
        self.settings = settings
        self.logger = logger
    }

    /// What `/health/ready` says about Python models: nil when nothing is pending.
    var status: String? { pending.withLock { $0 } }

    /// The environment for `model` (built here when this host has none), its workers started,
    /// and one warm-up answer: the pool to swap in. Throws (and says why in `status`) when any
    /// step fails; the caller keeps serving what it serves.
    func prepare(_ artifact: ModelArtifact, model: PythonModel, directory: URL, version: String) async throws
        -> PythonWorkerPool
    {
        do {
            let environment = try await environment(for: model, version: version)
            pending.withLock { $0 = "version \(version): starting \(settings.workers) Python workers" }
            let pool = try await PythonWorkerPool.start(
                version: version,
                launch: PythonWorker.Launch(
                    environment: environment, model: model, directory: directory, sandbox: settings.sandbox,
                    memoryLimit: settings.memoryLimit),
                settings: PythonWorkerPool.Settings(
                    workers: settings.workers, predictTimeout: settings.predictTimeout,
                    acquireTimeout: settings.predictTimeout, maxBatchRows: settings.maxBatchRows),
                logger: logger)
            do {
                try await warm(pool, model: model, artifact: artifact)
            } catch {
                pool.close()
                throw error
            }
            pending.withLock { $0 = nil }
            return pool
        } catch {
            pending.withLock { $0 = "version \(version) is not live here: \(error)" }
            throw error
        }
    }

    /// One answer before the swap: the example instance kept at training, or a one-step forecast.
    private func warm(_ pool: PythonWorkerPool, model: PythonModel, artifact: ModelArtifact) async throws {
        if artifact.forecast != nil {
            _ = try await pool.forecast(horizon: 1, requestID: "warm-up")
        } else if let example = model.example {
            _ = try await pool.predict(
                columns: artifact.features.map(\.name), rows: "[\(example)]", count: 1, classes: artifact.classes,
                requestID: "warm-up")
        }
    }

    /// The environment built from the artifact's frozen requirements: found ready, or built now.
    private func environment(for model: PythonModel, version: String) async throws -> URL {
        let environments = PythonEnvironments(
            root: settings.environments, memoryLimit: settings.memoryLimit, sandbox: settings.sandbox)
        let requirements = Data(
            (model.requirements.isEmpty ? "pandas\n" : model.requirementsText).utf8)
        if let ready = try? environments.existing(requirements: requirements) { return ready }
        pending.withLock { $0 = "version \(version): building its Python environment from its frozen requirements" }
        logger.notice(
            "building a Python environment for a version this host has not run",
            metadata: ["version": "\(version)", "requirements": "\(model.requirements.count)"])
        let start = ContinuousClock.now
        do {
            let timeout = settings.buildTimeout
            let logger = logger
            let built = try await BlockingWork.run {
                try environments.environment(
                    requirements: requirements, timeout: timeout, log: { logger.info("\($0)") }, cancellation: nil)
            }
            logger.notice(
                "Python environment ready",
                metadata: ["version": "\(version)", "took": "\(ContinuousClock.now - start)"])
            return built
        } catch {
            Counter(label: "conveyor_python_environment_failures_total").increment()
            logger.error(
                "could not build the Python environment; the current model keeps serving",
                metadata: ["version": "\(version)", "error": "\(error)"])
            throw error
        }
    }
}
