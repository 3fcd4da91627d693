import Artifacts
import Foundation
import Logging
import ServiceKit
import Subprocess

/// Settings of the `serving` service, read once from the environment.
public struct ServingConfiguration: Sendable {
    public var logLevel: Logger.Level
    public var databaseURL: String
    /// The local directory versions are read from: `ARTIFACTS_DIR` (or `ARTIFACTS_URL`'s
    /// `file://` path), or with an object store the local copies' `ARTIFACTS_CACHE_DIR`.
    public var artifactsDirectory: URL
    public var port: Int
    /// `HOST`, `HTTP_IDLE_TIMEOUT`, `MAX_CONNECTIONS` (applied to the gRPC port as well).
    public var server: HTTPServerSettings
    public var adminToken: String?
    /// Fallback poll period for new deployments.
    public var pollInterval: Duration
    /// Largest accepted request body, in bytes.
    public var maxBodyBytes: Int
    /// Most instances in one batch request.
    public var maxInstances: Int
    /// Where prediction log batches wait while Postgres is unreachable.
    public var spillDirectory: URL
    /// How often drift and live metrics are computed (0 turns the timer off).
    public var monitoringInterval: Duration = .seconds(60)
    /// How often complete 10-second periods of the log are rolled up for reports (0 turns it off:
    /// reports then read every logged request of their window).
    public var rollupInterval: Duration = .seconds(5)
    /// A field of each instance logged as its business id (never fed to the model), by which
    /// `POST /feedback` can name a prediction instead of its request id.
    public var predictionIDField: String? = nil
    /// Days of `prediction_log` kept (whole daily partitions are dropped); nil keeps everything.
    public var predictionRetentionDays: Int? = 30
    /// Ground truth arriving later than this after its prediction is recorded, and answered as late.
    public var feedbackLateAfter: Duration = .seconds(24 * 3600)
    /// `owner/name` on github.com: the dashboard links pull requests and commits there (none when unset).
    public var githubRepository: String? = nil
    /// `GRPC_PORT`: the Open Inference Protocol's gRPC service (default 8081, 0 for any free port, `off` for none).
    public var grpcPort: Int? = 8081
    /// `GRPC_MAX_CONCURRENT_STREAMS`: calls one gRPC connection may have open at once, advertised
    /// to clients (HTTP/2 SETTINGS), which queue the rest.
    public var grpcMaxConcurrentStreams: Int = 100
    /// Where the artifacts live (nil: `artifactsDirectory` is the store, as with `file://`).
    public var artifacts: ArtifactSettings? = nil
    /// `PYTHON_WORKERS`: worker processes per live Python model version (default: the number of cores).
    public var pythonWorkers: Int = ProcessInfo.processInfo.activeProcessorCount
    /// `PYTHON_MEMORY_LIMIT`: each Python worker's address-space limit in bytes (0: none).
    public var pythonMemoryLimit: Int = 4 << 30
    /// `PYTHON_PREDICT_TIMEOUT`: how long one call to a Python model may take (then 504, worker replaced).
    public var pythonPredictTimeout: Duration = .seconds(30)
    /// `PYTHON_MAX_BATCH`: most rows one call to a Python worker coalesces from queued requests (1: off).
    public var pythonMaxBatch: Int = 64
    /// `MAX_LOADED_MODELS`: most models loaded at once; past it a model loads on its first request
    /// and the least recently used is unloaded (0: every live model stays loaded).
    public var maxLoadedModels: Int = 0
    /// `PYTHON_ENVIRONMENTS`: where Python models' environments are built and kept.
    public var pythonEnvironments: URL = FileManager.default.temporaryDirectory.appendingPathComponent(
        "conveyor-python-environments")
    /// `SANDBOX` (`auto`, `bubblewrap`, `none`): how Python models' workers are isolated.
    public var sandbox: Sandbox = .automatic
    /// `PREDICT_AUTH`: `token` makes `/predict`, `/feedback`, the v2 `infer` route and gRPC
    /// `ModelInfer` require a prediction token allowed for the model; `off` (the default) does not.
    public var predictAuth = false

    /// Where the artifacts live, spelled out.
    public var artifactSettings: ArtifactSettings {
        artifacts ?? ArtifactSettings(location: .file(artifactsDirectory), s3: nil, cacheDirectory: artifactsDirectory)
    }

    public static func fromEnvironment(_ env: EnvironmentReader = .init()) throws -> ServingConfiguration {
        let grpcPort = try Self.grpcPort(env)
        let artifacts = try Self.artifacts(env)
        return ServingConfiguration(
            logLevel: try env.logLevel(),
            databaseURL: try env.required("DATABASE_URL"),
            artifactsDirectory: artifacts.localDirectory,
            port: try env.int("PORT", default: 8000, range: 0...65535),
            server: try HTTPServerSettings.fromEnvironment(env, listeners: grpcPort == nil ? 1 : 2),
            adminToken: env.string("ADMIN_TOKEN"),
            pollInterval: try env.duration("POLL_INTERVAL", default: .seconds(15), minimum: .milliseconds(10)),
            maxBodyBytes: try env.int("MAX_BODY_BYTES", default: 1 << 20, range: 1024...(64 << 20)),
            maxInstances: try env.int("MAX_INSTANCES", default: 1000, range: 1...100_000),
            spillDirectory: URL(
                fileURLWithPath: env.string("PREDICTION_SPILL_DIR")
                    ?? FileManager.default.temporaryDirectory.appendingPathComponent("conveyor-prediction-spill").path),
            monitoringInterval: try env.duration("MONITORING_INTERVAL", default: .seconds(60), minimum: .zero),
            rollupInterval: try env.duration("MONITORING_ROLLUP_INTERVAL", default: .seconds(5), minimum: .zero),
            predictionIDField: env.string("PREDICTION_ID_FIELD"),
            predictionRetentionDays: try env.int("PREDICTION_RETENTION_DAYS", default: 30, range: 0...36500).nonZero,
            feedbackLateAfter: try env.duration("FEEDBACK_LATE_AFTER", default: .seconds(24 * 3600)),
            githubRepository: try Self.repository(env.string("GITHUB_REPOSITORY")),
            grpcPort: grpcPort,
            // NIO counts 100 until a client acknowledges the advertised value: more could be refused before.
            grpcMaxConcurrentStreams: try env.int("GRPC_MAX_CONCURRENT_STREAMS", default: 100, range: 1...100),
            artifacts: artifacts,
            pythonWorkers: try env.int(
                "PYTHON_WORKERS", default: ProcessInfo.processInfo.activeProcessorCount, range: 1...256),
            pythonMemoryLimit: try env.int("PYTHON_MEMORY_LIMIT", default: 4 << 30),
            pythonPredictTimeout: try env.duration(
                "PYTHON_PREDICT_TIMEOUT", default: .seconds(30), minimum: .milliseconds(10)),
            pythonMaxBatch: try env.int("PYTHON_MAX_BATCH", default: 64, range: 1...100_000),
            maxLoadedModels: try env.int("MAX_LOADED_MODELS", default: 0, range: 0...100_000),
            pythonEnvironments: URL(
                fileURLWithPath: env.string("PYTHON_ENVIRONMENTS")
                    ?? FileManager.default.temporaryDirectory.appendingPathComponent("conveyor-python-environments")
                    .path),
            sandbox: try env.sandbox(), predictAuth: try Self.predictAuth(env))
    }

    /// `PREDICT_AUTH`: `off` (default) or `token`.
    static func predictAuth(_ env: EnvironmentReader) throws -> Bool {
        switch env.string("PREDICT_AUTH")?.lowercased() ?? "off" {
        case "off", "": return false
        case "token": return true
        case let other:
            throw ConfigurationError(variable: "PREDICT_AUTH", problem: "must be off or token, got \"\(other)\"")
        }
    }

    /// `ARTIFACTS_URL` (or `ARTIFACTS_DIR`) and, for an object store, its settings and the local copies.
    static func artifacts(_ env: EnvironmentReader) throws -> ArtifactSettings {
        do {
            return try ArtifactSettings.read(
                { env.string($0) },
                defaultCache: FileManager.default.temporaryDirectory.appendingPathComponent("conveyor-artifacts-cache"))
        } catch {
            throw ConfigurationError(variable: error.variable, problem: error.problem)
        }
    }

    /// `GRPC_PORT`: a port (0: any free one), or `off`.
    static func grpcPort(_ env: EnvironmentReader) throws -> Int? {
        if env.string("GRPC_PORT")?.lowercased() == "off" { return nil }
        return try env.int("GRPC_PORT", default: 8081, range: 0...65535)
    }

    /// `owner/name`, letters, digits, `-`, `_` and `.` only (it goes into links).
    static func repository(_ value: String?) throws -> String? {
        guard let value, !value.isEmpty else { return nil }
        let parts = value.split(separator: "/", omittingEmptySubsequences: false)
        let allowed = { (c: Character) in c.isASCII && (c.isLetter || c.isNumber || "-_.".contains(c)) }
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(allowed) }) else {
            throw ConfigurationError(variable: "GITHUB_REPOSITORY", problem: "\"\(value)\" is not owner/name")
        }
        return value
    }
}

extension Int {
    /// nil for 0 ("no limit" in settings).
    fileprivate var nonZero: Int? { self == 0 ? nil : self }
}
