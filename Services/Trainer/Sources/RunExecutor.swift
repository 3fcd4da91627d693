import Foundation
import Learning
import Logging
import NIOPosix

/// Carries one claimed run from checkout to a recorded verdict: deployed,
/// rejected by a gate, or failed with its reason. Never throws: whatever
/// happens ends up in `training_runs`.
public struct RunExecutor: Sendable {
    let store: TrainingStore
    let checkout: SourceCheckout
    let artifactsDirectory: URL
    let workDirectory: URL
    let logger: Logger

    /// The longest log kept per run, in characters.
    static let logLimit = 64 * 1024

    /// Runs that were claimed this often are given up (a crash loop).
    static let maxAttempts = 3

    public func execute(_ run: ClaimedRun) async {
        let pr = run.pullRequest
        // A retry after a lost lease gets its own version: the first attempt may have left a directory.
        let version =
            "v\(run.id)-pr\(pr.number)-\(pr.mergeCommitSHA.prefix(7))" + (run.attempts > 1 ? "-a\(run.attempts)" : "")
        var logger = logger
        logger[metadataKey: "run"] = "\(run.id)"
        logger[metadataKey: "pr"] = "\(pr.number)"
        logger.info("training", metadata: ["commit": "\(pr.mergeCommitSHA)", "version": "\(version)"])
        var log = ["run \(run.id): PR #\(pr.number) at \(pr.mergeCommitSHA), attempt \(run.attempts)"]
        let heartbeat = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(store.lease / 3))
                if (try? await store.renewLease(run: run.id)) == false {
                    logger.warning("lost the lease on the run; its result will be discarded")
                    return
                }
            }
        }
        defer { heartbeat.cancel() }
        var timings: [String: Double] = [:]
        let directory = workDirectory.appendingPathComponent("run-\(run.id)", isDirectory: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var outcome: TrainingOutcome?
        do {
            if run.attempts > Self.maxAttempts {
                throw TrainingFailure(
                    stage: "claim", reason: "abandoned after \(Self.maxAttempts) trainers lost their lease on it")
            }
            let cloneStart = Date()
            try await checkout.checkout(commit: pr.mergeCommitSHA, into: directory)
            timings["clone"] = Date().timeIntervalSince(cloneStart)
            log.append("checked out \(pr.mergeCommitSHA)")

            let deployed = try await store.deployed()
            let pipeline = TrainingPipeline(repository: directory)
            let (result, lines) = try await NIOThreadPool.singleton.runIfActive {
                var lines: [String] = []
                let result = try pipeline.run(version: version, deployedMetrics: deployed?.metrics) { lines.append($0) }
                return (result, lines)
            }
            outcome = result
            log += lines
            timings.merge(result.timings) { $1 }

            guard result.passed else {
                let failed = result.gates.filter { !$0.passed }.map(\.detail).joined(separator: "; ")
                log.append("rejected: \(failed)")
                try await store.finish(
                    run: run.id, status: "rejected", reason: "gate failed: \(failed)", outcome: result,
                    timings: timings,
                    log: Self.capped(log))
                logger.notice("model rejected", metadata: ["reason": "\(failed)"])
                return
            }
            let writeStart = Date()
            let written = try ArtifactStore.write(
                result.artifact, manifestYAML: result.manifestYAML, root: artifactsDirectory)
            timings["write"] = Date().timeIntervalSince(writeStart)
            log.append("artifact \(written.path.path) sha256 \(written.sha256)")
            try await store.deploy(
                run: run, outcome: result, artifactPath: "\(result.artifact.name)/\(result.artifact.version)",
                artifactSHA256: written.sha256,
                timings: timings, log: Self.capped(log))
            logger.info("deployed", metadata: ["version": "\(version)", "metrics": "\(result.artifact.metrics)"])
        } catch let lost as LeaseLost {
            logger.warning("result discarded", metadata: ["reason": "\(lost)"])
        } catch {
            let reason = "\(error)"
            log.append("failed: \(reason)")
            logger.error("run failed", metadata: ["reason": "\(reason)"])
            do {
                try await store.finish(
                    run: run.id, status: "failed", reason: reason, outcome: outcome, timings: timings,
                    log: Self.capped(log))
            } catch {
                logger.error("could not record the failed run", metadata: ["error": "\(error)"])
            }
        }
    }

    static func capped(_ lines: [String]) -> String {
        let text = lines.joined(separator: "\n")
        return text.count <= logLimit ? text : String(text.prefix(logLimit)) + "\n… (log truncated)"
    }
}
