import Foundation
import Learning
import Logging
import Registry
import ServiceKit
import Subprocess

/// Carries one claimed run from checkout to a recorded verdict: deployed,
/// rejected by a gate, or failed with its reason. Never throws: whatever
/// happens ends up in `training_runs`, and is announced.
public struct RunExecutor: Sendable {
    let store: TrainingStore
    let checkout: SourceCheckout
    let notifier: RunNotifier?
    let artifactsDirectory: URL
    let workDirectory: URL
    let runTimeout: Duration
    let maxDataBytes: Int
    /// Address-space limit of the repository's own training command.
    var commandMemoryLimit = 8 << 30
    /// Where the repository's own code runs.
    var sandbox: Sandbox = .automatic
    /// Reports previews on their pull request (nil: previews are recorded only).
    var previewReporter: PreviewReporter? = nil
    /// `NOTIFY_PREVIEWS`: announce previews like merges.
    var notifyPreviews = false
    let logger: Logger

    /// The longest log kept per run, in characters.
    static let logLimit = 64 * 1024
    /// Runs that were claimed this often are given up (a crash loop).
    static let maxAttempts = 3

    /// What the checkout and the pipeline produced.
    private struct Trained: Sendable {
        let outcome: TrainingOutcome
        let timings: [String: Double]
        /// The passed preview whose kept model this merge deploys instead of training (same git tree).
        var reused: ReusablePreview? = nil
    }

    /// How a run ended, for its announcement and a preview's report.
    private typealias Ending = (status: RunOutcome, reason: String?, version: String?)

    /// How often a running run's log is copied into the database.
    static let logFlushInterval = Duration.seconds(1)

    public func execute(_ run: ClaimedRun) async {
        let pr = run.pullRequest
        // A retry after a lost lease gets its own version: the first attempt may have left a directory.
        let suffix = run.attempts > 1 ? "-a\(run.attempts)" : ""
        let isPreview = run.kind == .preview
        let version = "\(isPreview ? "preview-" : "v")\(run.id)-pr\(pr.number)-\(pr.mergeCommitSHA.prefix(7))" + suffix
        var logger = logger
        logger[metadataKey: "run"] = "\(run.id)"
        logger[metadataKey: "pr"] = "\(pr.number)"
        logger.info("training", metadata: ["commit": "\(pr.mergeCommitSHA)", "version": "\(version)"])
        let log = RunLog("run \(run.id): PR #\(pr.number) at \(pr.mergeCommitSHA), attempt \(run.attempts)")
        let files = KeptFiles()
        let liveLog = Task { [store] in
            var written = -1
            while !Task.isCancelled {
                try? await Task.sleep(for: Self.logFlushInterval)
                let (lines, revision) = log.snapshot
                if revision != written, (try? await store.updateLog(run: run.id, log: Self.capped(lines))) != nil {
                    written = revision
                }
            }
        }
        defer { liveLog.cancel() }
        let heartbeat = Task { [store, logger] in
            while !Task.isCancelled {
                try? await Task.sleep(for: store.lease / 3)
                if (try? await store.renewLease(run: run.id)) == false {
                    logger.warning("lost the lease on the run; its result will be discarded")
                    return
                }
            }
        }
        defer { heartbeat.cancel() }
        if run.attempts > 1 { TrainerMetrics.leaseTakeover() }
        if isPreview { await previewReporter?.started(run: run.id, commit: pr.mergeCommitSHA, log: log) }
        var timings: [String: Double] = [:]
        var outcome: TrainingOutcome?
        var announcement: Ending?
        do {
            if run.attempts > Self.maxAttempts {
                throw TrainingFailure(
                    stage: "claim", reason: "abandoned after \(Self.maxAttempts) trainers lost their lease on it")
            }
            let timeout = TrainingFailure(
                stage: "run", reason: "timed out after \(String(format: "%g", runTimeout.inSeconds)) s (RUN_TIMEOUT)")
            let trained = try await withCancelRequests(run: run.id) {
                try await withDeadline(runTimeout, timeoutError: timeout) {
                    try await train(run, version: version, suffix: suffix, log: log, files: files)
                }
            }
            outcome = trained.outcome
            timings = trained.timings
            let result = trained.outcome

            guard result.passed else {
                let failedGates = result.gates.filter { !$0.passed }
                TrainerMetrics.rejected(gates: failedGates.map(\.gate))
                let failed = failedGates.map(\.detail).joined(separator: "; ")
                log.append("rejected: \(failed)")
                liveLog.cancel()
                try await store.keep(files.all, run: run.id)
                try await store.finish(
                    run: run.id, status: .rejected, reason: "gate failed: \(failed)", outcome: result,
                    timings: timings,
                    log: Self.capped(log.lines))
                logger.notice("model rejected", metadata: ["reason": "\(failed)"])
                announcement = (.rejected, "gate failed: \(failed)", nil)
                await announce(announcement, run: run, timings: timings, outcome: outcome)
                return
            }
            if let reused = trained.reused {
                // The preview's model, as it was written and hashed: nothing is written again.
                liveLog.cancel()
                try await store.recordReuse(run: run.id, preview: reused.run)
                try await store.deploy(
                    run: run, outcome: result, artifactPath: reused.artifactPath, artifactSHA256: reused.artifactSHA256,
                    timings: timings, log: Self.capped(log.lines),
                    reason: "deployed the model of preview run \(reused.run)")
                logger.info(
                    "deployed a preview's model",
                    metadata: ["version": "\(result.artifact.version)", "preview": "\(reused.run)"])
                announcement = (.succeeded, nil, result.artifact.version)
                await announce(announcement, run: run, timings: timings, outcome: outcome)
                return
            }
            let writeStart = Date()
            let written = try ArtifactStore.write(
                result.artifact, manifestYAML: result.manifestYAML, root: artifactsDirectory)
            timings["write"] = Date().timeIntervalSince(writeStart)
            log.append("artifact \(written.path.path) sha256 \(written.sha256)")
            liveLog.cancel()
            try await store.keep(files.all, run: run.id)
            if isPreview {
                // Kept, never deployed by the preview: a merge of the same tree can deploy it.
                let reason = "preview: every gate passed; merging it would deploy it"
                log.append(reason)
                try await store.finish(
                    run: run.id, status: .succeeded, reason: reason, outcome: result, timings: timings,
                    log: Self.capped(log.lines))
                try await store.recordPreviewModel(
                    run: run.id, artifactPath: "\(result.artifact.name)/\(result.artifact.version)",
                    artifactSHA256: written.sha256, version: version, fingerprint: result.fingerprint)
                logger.info("preview passed", metadata: ["version": "\(version)"])
                announcement = (.succeeded, reason, version)
                await announce(announcement, run: run, timings: timings, outcome: outcome)
                return
            }
            try await store.deploy(
                run: run, outcome: result, artifactPath: "\(result.artifact.name)/\(result.artifact.version)",
                artifactSHA256: written.sha256, timings: timings, log: Self.capped(log.lines))
            logger.info("deployed", metadata: ["version": "\(version)", "metrics": "\(result.artifact.metrics)"])
            announcement = (.succeeded, nil, version)
        } catch let lost as LeaseLost {
            logger.warning("result discarded", metadata: ["reason": "\(lost)"])
        } catch is RunCancelled {
            let reason = (try? await store.cancelReason(run: run.id)) ?? "cancelled by an admin"
            log.append(reason)
            logger.notice("run cancelled", metadata: ["reason": "\(reason)"])
            liveLog.cancel()
            do {
                try await store.keep(files.all, run: run.id)
                try await store.finish(
                    run: run.id, status: .cancelled, reason: reason, outcome: outcome,
                    timings: timings, log: Self.capped(log.lines))
                announcement = (.cancelled, reason, nil)
            } catch {
                logger.error("could not record the cancelled run", metadata: ["error": "\(error)"])
            }
        } catch {
            let reason = "\(error)"
            TrainerMetrics.failed(stage: (error as? TrainingFailure)?.stage ?? "other")
            log.append("failed: \(reason)")
            logger.error("run failed", metadata: ["reason": "\(reason)"])
            liveLog.cancel()
            do {
                try await store.keep(files.all, run: run.id)
                try await store.finish(
                    run: run.id, status: .failed, reason: reason, outcome: outcome, timings: timings,
                    log: Self.capped(log.lines))
                announcement = (.failed, reason, nil)
            } catch {
                logger.error("could not record the failed run", metadata: ["error": "\(error)"])
            }
        }
        await announce(announcement, run: run, timings: timings, outcome: outcome)
    }

    /// Runs `work` while polling for an admin's cancel request; a request
    /// cancels `work` (really: see `withDeadline`) and throws `RunCancelled`.
    private func withCancelRequests<T: Sendable>(
        run: Int64, _ work: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let store = store
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await work() }
            group.addTask {
                while true {
                    try await Task.sleep(for: Self.cancelPollInterval)
                    if (try? await store.isCancelRequested(run: run)) == true { throw RunCancelled() }
                }
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else { throw RunCancelled() }
            return value
        }
    }

    /// How often a running run checks for a cancel request.
    static let cancelPollInterval = Duration.milliseconds(500)

    /// Checkout, then the pipeline on the thread pool, compared with the deployed model.
    private func train(_ run: ClaimedRun, version: String, suffix: String, log: RunLog, files: KeptFiles)
        async throws -> Trained
    {
        var timings: [String: Double] = [:]
        let directory = workDirectory.appendingPathComponent("run-\(run.id)\(suffix)", isDirectory: true)
        RunDirectories.removeEarlierAttempts(of: run.id, before: run.attempts, in: workDirectory)
        defer { try? FileManager.default.removeItem(at: directory) }
        let cloneStart = Date()
        let mirror = try await checkout.checkout(commit: run.pullRequest.mergeCommitSHA, into: directory)
        timings["clone"] = Date().timeIntervalSince(cloneStart)
        log.append("checked out \(run.pullRequest.mergeCommitSHA) (mirror \(mirror))")
        let tree = try? await CommandRunner.run(["git", "-C", directory.path, "rev-parse", "HEAD^{tree}"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        if let tree {
            try await store.recordTree(run: run.id, treeSHA: tree)
            if run.kind == .merge, let reused = try await reusePreview(tree: tree, checkout: directory, log: log) {
                timings.merge(reused.timings) { $1 }
                return Trained(outcome: reused.outcome, timings: timings, reused: reused.preview)
            }
        }

        let deployed = try await store.deployed()
        var replay: (version: String, requests: [ShadowRequest])?
        if let deployed {
            // As many of the live version's logged requests as the candidate's gates.shadow asks for.
            let manifest = FileManager.default.contents(atPath: directory.appendingPathComponent("conveyor.yaml").path)
                .flatMap { try? Manifest.parse(String(decoding: $0, as: UTF8.self)) }
            let limit = manifest?.shadow?.requests ?? Manifest.ShadowGate.defaultRequests
            let requests = try await store.loggedRequests(version: deployed.version, limit: limit)
            if !requests.isEmpty { replay = (deployed.version, requests) }
        }
        let baseline = deployed.map { deployed in
            TrainingPipeline.Baseline(
                artifact: try? ArtifactStore.load(
                    from: artifactsDirectory.appendingPathComponent(deployed.artifactPath),
                    expectedSHA256: deployed.artifactSHA256),
                recordedMetrics: deployed.metrics, replay: replay)
        }
        let pipeline = TrainingPipeline(
            repository: directory, maxDataBytes: maxDataBytes,
            pythonEnvironments: workDirectory.appendingPathComponent("python-environments", isDirectory: true),
            commandMemoryLimit: commandMemoryLimit, sandbox: sandbox)
        // Training runs on a pool thread; cancelling the task stops it between trees or rounds.
        let outcome = try await withCancellationToken { token in
            let result = try await BlockingWork.run {
                try pipeline.run(
                    version: version, baseline: baseline, log: log.append, keep: files.add,
                    progress: { _, _ in !token.isCancelled }, cancellation: token)
            }
            if token.isCancelled { throw CancellationError() }
            return result
        }
        timings.merge(outcome.timings) { $1 }
        return Trained(outcome: outcome, timings: timings)
    }

    /// A merge whose tree a passed preview trained: that preview's model, its gates checked
    /// again against whatever is live now (bounds, no regression against the live model's
    /// recorded metrics, the shadow replay of its logged requests). Nil when there is none, or
    /// its model or the manifest cannot be read (the merge then trains as usual).
    private func reusePreview(tree: String, checkout: URL, log: RunLog) async throws
        -> (outcome: TrainingOutcome, timings: [String: Double], preview: ReusablePreview)?
    {
        guard let preview = try await store.reusablePreview(tree: tree) else { return nil }
        let start = Date()
        guard
            let artifact = try? ArtifactStore.load(
                from: artifactsDirectory.appendingPathComponent(preview.artifactPath),
                expectedSHA256: preview.artifactSHA256),
            let yaml = FileManager.default.contents(atPath: checkout.appendingPathComponent("conveyor.yaml").path)
                .map({ String(decoding: $0, as: UTF8.self) }),
            let manifest = try? Manifest.parse(yaml)
        else {
            log.append("preview run \(preview.run) trained this tree, but its model could not be read: training")
            return nil
        }
        log.append("tree \(tree.prefix(12)) is the one preview run \(preview.run) trained: reusing its model")
        let deployed = try await store.deployed()
        var gates = GateEvaluation.evaluate(
            manifest: manifest, metrics: artifact.metrics, deployedMetrics: deployed?.metrics)
        var shadow: ShadowComparison?
        if let deployed, manifest.task != .forecast {
            let limit = manifest.shadow?.requests ?? Manifest.ShadowGate.defaultRequests
            let requests = try await store.loggedRequests(version: deployed.version, limit: limit)
            if !requests.isEmpty {
                shadow = ShadowReplay.compare(candidate: artifact, liveVersion: deployed.version, requests: requests)
            }
        }
        if let gate = manifest.shadow { gates += GateEvaluation.shadow(gate, shadow) }
        for gate in gates { log.append("gate \(gate.gate): \(gate.passed ? "pass" : "FAIL") — \(gate.detail)") }
        let timings = ["reuse": Date().timeIntervalSince(start)]
        return (
            TrainingOutcome(
                manifest: manifest, manifestYAML: yaml, artifact: artifact, fingerprint: preview.fingerprint,
                gates: gates, timings: timings, shadow: shadow),
            timings, preview
        )
    }

    private func announce(
        _ announcement: Ending?, run: ClaimedRun, timings: [String: Double], outcome: TrainingOutcome?
    )
        async
    {
        if let announcement {
            TrainerMetrics.run(kind: run.kind, outcome: announcement.status, timings: timings)
        }
        if run.kind == .preview, let announcement, let previewReporter {
            await previewReporter.finished(
                PreviewReport(
                    run: run.id, pr: run.pullRequest.number, commit: run.pullRequest.mergeCommitSHA,
                    status: announcement.status, reason: announcement.reason, outcome: outcome,
                    live: try? await store.liveComparison()))
        }
        guard let announcement, let notifier, run.kind != .preview || notifyPreviews else { return }
        await notifier.announce(
            RunAnnouncement(
                run: run.id, status: announcement.status, prNumber: run.pullRequest.number,
                prTitle: run.pullRequest.title,
                commit: run.pullRequest.mergeCommitSHA, version: announcement.version, reason: announcement.reason,
                isPreview: run.kind == .preview))
    }

    /// The log as stored: past `logLimit` characters its middle is cut, so
    /// both the start and the verdict at the end stay.
    static func capped(_ lines: [String]) -> String {
        let text = lines.joined(separator: "\n")
        guard text.count > logLimit else { return text }
        let half = logLimit / 2
        return String(text.prefix(half)) + "\n… (log truncated to \(logLimit) characters) …\n"
            + String(text.suffix(half))
    }
}
