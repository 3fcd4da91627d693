import Artifacts
import DurationUnits
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
/// loads each model's newest deployed artifact in the background (from the object
/// store into a local copy first, when artifacts live in one), checks its
/// content hash, warms it and swaps it in. A version that fails to load is
/// logged and the current model keeps serving; while the object store is out
/// of reach it retries with backoff, and a deployment is applied only once
/// its whole version is here.
public struct DeploymentWatcher: Service, CustomStringConvertible {
    /// A plain name for lifecycle logs (the default would print the database URL).
    public var description: String { "DeploymentWatcher" }

    let database: PostgresClient
    let store: ModelStore
    let artifacts: ArtifactStorage
    /// The most the local copies may take (the live and previous versions are always kept).
    var cacheBytes: Int64 = 10 << 30
    let pollInterval: Duration
    /// Runs Python models' workers (builds their environments first where this host has none).
    let python: PythonRuntime
    /// `MAX_LOADED_MODELS`: past this many, a live model is loaded when a request first asks for
    /// it, and the least recently used one is unloaded to make room (0: every live model loaded).
    var maxLoaded = 0
    /// Loads asked for by requests, one at a time per model (concurrent requests share it).
    let onDemand = OnDemandLoads()
    let logger: Logger

    public func run() async throws {
        await WakeLoop.run(
            database: database, channel: Schema.deploymentsChannel, pollInterval: pollInterval, logger: logger
        ) { await refresh() }
    }

    /// Loads and swaps to the newest deployment if it is not the one serving; while the object
    /// store cannot be reached, tries again with backoff (up to the poll interval) until it can.
    func refresh() async {
        var backoff = Duration.milliseconds(250)
        while await refreshOnce() == .storeUnreachable, !Task.isCancelled {
            try? await Task.sleep(for: backoff)
            backoff = min(backoff * 2, pollInterval)
        }
    }

    /// What one attempt did.
    enum Attempt { case done, storeUnreachable }

    /// Loads every model whose live version is not the one serving; one model's failing load
    /// never affects another's.
    private func refreshOnce() async -> Attempt {
        let live: [DeploymentRecord]
        do {
            live = try await DeploymentRecord.live(database)
        } catch {
            logger.error(
                "could not read the deployments; the loaded models keep serving", metadata: ["error": "\(error)"])
            return .done
        }
        let dropped = store.setLive(Set(live.map(\.modelName)))
        if !dropped.isEmpty { logger.info("models no longer live unloaded", metadata: ["models": "\(dropped)"]) }
        var attempt = Attempt.done
        for deployment in live {
            // Past MAX_LOADED_MODELS a model not loaded waits for a request (new versions of loaded ones swap in).
            if maxLoaded > 0, store.model(named: deployment.modelName) == nil, store.loadedCount >= maxLoaded {
                continue
            }
            if await load(deployment) == .storeUnreachable { attempt = .storeUnreachable }
        }
        return attempt
    }

    /// Loads live model `name` for a request (`MAX_LOADED_MODELS`), first unloading the least
    /// recently used models while the limit is reached; nil when it is not live (or its load
    /// failed: logged and counted). Concurrent requests for one model share one load.
    func loadOnDemand(_ name: String) async throws -> LoadedModel? {
        try await onDemand.run(name) {
            if let loaded = store.model(named: name) { return loaded }
            guard let deployment = try await DeploymentRecord.live(database).first(where: { $0.modelName == name })
            else { return nil }
            while maxLoaded > 0, store.loadedCount >= maxLoaded, let victim = store.leastRecentlyUsed(keeping: name) {
                store.unload(victim)
                Counter(label: "conveyor_model_evictions_total").increment()
                logger.info("model unloaded to make room", metadata: ["model": "\(victim)", "for": "\(name)"])
            }
            _ = await load(deployment)
            return store.model(named: name)
        }
    }

    /// Loads and swaps to `deployment` unless it is serving already.
    private func load(_ deployment: DeploymentRecord) async -> Attempt {
        do {
            if store.model(named: deployment.modelName)?.deployment.deploymentID == deployment.deploymentID {
                return .done
            }
            let start = ContinuousClock.now
            let directory = try await artifacts.directory(deployment.artifactPath)
            ServingMetrics.artifactStoreReachable(true)
            let artifact = try await NIOThreadPool.singleton.runIfActive {
                let artifact = try ArtifactStore.load(from: directory, expectedSHA256: deployment.artifactSHA256)
                if artifact.python == nil { try Self.warm(artifact) }
                return artifact
            }
            // A Python model: its environment, its workers loaded and one answer, before the swap.
            var pool: PythonWorkerPool?
            if let model = artifact.python {
                pool = try await python.prepare(
                    artifact, model: model, directory: directory, version: deployment.version)
            }
            let current = store.model(named: deployment.modelName)
            if current?.deployment.deploymentID == deployment.deploymentID {
                pool?.close()
                return .done
            }
            store.swap(to: LoadedModel(artifact: artifact, deployment: deployment, python: pool))
            let elapsed = ContinuousClock.now - start
            Counter(label: "conveyor_model_swaps_total").increment()
            Timer(label: "conveyor_model_load_seconds").recordNanoseconds(elapsed.inNanoseconds)
            logger.info(
                "model swapped",
                metadata: [
                    "model": "\(deployment.modelName)", "version": "\(deployment.version)",
                    "previous": "\(current?.deployment.version ?? "none")", "reason": "\(deployment.reason)",
                    "load": "\(elapsed)",
                ])
            // Every model's live and previous version stay local: a rollback needs no download.
            _ = artifacts.evict(maxBytes: cacheBytes, keep: store.keptArtifactPaths)
            return .done
        } catch let unavailable as ArtifactUnavailable where unavailable.storeUnreachable {
            ServingMetrics.artifactStoreReachable(false)
            logger.warning(
                "the artifact store is unreachable; the current model keeps serving, retrying",
                metadata: ["model": "\(deployment.modelName)", "error": "\(unavailable)"])
            return .storeUnreachable
        } catch {
            Counter(label: "conveyor_model_load_failures_total").increment()
            logger.error(
                "could not load the deployed model; the current one keeps serving",
                metadata: ["model": "\(deployment.modelName)", "version": "\(deployment.version)", "error": "\(error)"])
            return .done
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
