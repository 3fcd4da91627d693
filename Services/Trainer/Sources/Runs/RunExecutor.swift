import Artifacts
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
    /// Each followed repository's checkout, by its key (`TrackedRepository.key`).
    let checkouts: [String: SourceCheckout]
    let notifier: RunNotifier?
    /// Where versions are written (and published, with an object store) and read from.
    let artifacts: ArtifactStorage
    let workDirectory: URL
    let runTimeout: Duration
    let maxDataBytes: Int
    /// Address-space limit of the repository's own training command.
    var commandMemoryLimit = 8 << 30
    /// Where the repository's own code runs.
    var sandbox: Sandbox = .automatic
    /// Reports previews on their pull request, per repository key (none: previews are recorded only).
    var previewReporters: [String: PreviewReporter] = [:]
    /// `NOTIFY_PREVIEWS`: announce previews like merges.
    var notifyPreviews = false
    /// Fetches data kept outside git (nil: a manifest that needs it fails the run at stage `data`).
    var dataFetcher: DataFetcher? = nil
    let logger: Logger

    /// The longest log kept per run, in characters.
    static let logLimit = 64 * 1024
    /// Runs that were claimed this often are given up (a crash loop).
    static let maxAttempts = 3

    /// What the checkout and the pipeline produced.
    private struct Trained: Sendable {
        let outcome: TrainingOutcome
        /// The passed preview whose kept model this merge deploys instead of training (same git tree).
        var reused: ReusablePreview? = nil
    }

    /// How a run ended, for its announcement and a preview's report.
    private typealias Ending = (status: RunOutcome, reason: String?, version: String?)

    /// How often a running run's log is copied into the database.
    static let logFlushInterval = Duration.seconds(1)

    /// The run being carried: its log, kept files and stage timings.
    private struct Carried: Sendable {
        let run: ClaimedRun
        let log: RunLog
        let files: KeptFiles
        let timings: StageTimings
        /// What the repository's tests said, for the run's record and a preview's report.
        let tests: ReportedTests
        /// Stops copying the running log into the database (the final write has the whole log).
        let stopLiveLog: @Sendable () -> Void
    }

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
        if isPreview {
            await previewReporters[run.repository.key]?.started(run: run.id, commit: pr.mergeCommitSHA, log: log)
        }
        let carried = Carried(
            run: run, log: log, files: KeptFiles(), timings: StageTimings(), tests: ReportedTests(),
            stopLiveLog: { liveLog.cancel() })
        // A Python model's files wait here until its artifact is written.
        defer { try? FileManager.default.removeItem(at: Self.pythonScratch(run, in: workDirectory)) }
        var outcome: TrainingOutcome?
        var ending: Ending?
        do {
            if run.attempts > Self.maxAttempts {
                throw TrainingFailure(
                    stage: .claim, reason: "abandoned after \(Self.maxAttempts) trainers lost their lease on it")
            }
            let timeout = TrainingFailure(
                stage: .run, reason: "timed out after \(String(format: "%g", runTimeout.inSeconds)) s (RUN_TIMEOUT)")
            let trained = try await withCancelRequests(run: run.id) {
                try await withDeadline(runTimeout, timeoutError: timeout) {
                    try await train(carried, version: version, suffix: suffix)
                }
            }
            outcome = trained.outcome
            ending = try await conclude(trained, carried, logger: logger)
        } catch let lost as LeaseLost {
            logger.warning("result discarded", metadata: ["reason": "\(lost)"])
        } catch is RunCancelled {
            let reason = (try? await store.cancelReason(run: run.id)) ?? "cancelled by an admin"
            logger.notice("run cancelled", metadata: ["reason": "\(reason)"])
            ending = await record(.cancelled, reason: reason, outcome: outcome, carried, logger: logger)
        } catch {
            TrainerMetrics.failed(stage: (error as? TrainingFailure)?.stage ?? .other)
            logger.error("run failed", metadata: ["reason": "\(error)"])
            ending = await record(.failed, reason: "\(error)", outcome: outcome, carried, logger: logger)
        }
        await announce(ending, run: run, timings: carried.timings.byName, outcome: outcome, tests: carried.tests.value)
    }

    /// What a trained run's result means, recorded: rejected by a gate, a preview passed
    /// (its model kept), a preview's model deployed by the merge of its tree, or deployed.
    private func conclude(_ trained: Trained, _ carried: Carried, logger: Logger) async throws -> Ending {
        let (run, log, result) = (carried.run, carried.log, trained.outcome)
        let timings = { carried.timings.byName }
        guard result.passed else {
            let failedGates = result.gates.filter { !$0.passed }
            TrainerMetrics.rejected(gates: failedGates.map(\.gate))
            let failed = failedGates.map(\.detail).joined(separator: "; ")
            let reason = "gate failed: \(failed)"
            log.append("rejected: \(failed)")
            logger.notice("model rejected", metadata: ["reason": "\(reason)"])
            try await finish(.rejected, reason: reason, outcome: result, carried)
            return (.rejected, reason, nil)
        }
        if let reused = trained.reused {
            // The preview's model, as it was written and hashed: nothing is written again.
            carried.stopLiveLog()
            try await store.recordReuse(run: run.id, preview: reused.run)
            try await store.deploy(
                run: run, outcome: result, artifactPath: reused.artifactPath, artifactSHA256: reused.artifactSHA256,
                timings: timings(), log: Self.capped(log.lines),
                reason: "deployed the model of preview run \(reused.run)")
            logger.info(
                "deployed a preview's model",
                metadata: ["version": "\(result.artifact.version)", "preview": "\(reused.run)"])
            return (.succeeded, nil, result.artifact.version)
        }
        let artifactPath = "\(result.artifact.name)/\(result.artifact.version)"
        let written = try await carried.timings.measure(.write) {
            let written = try ArtifactStore.write(
                result.artifact, manifestYAML: result.manifestYAML, root: artifacts.local)
            do {
                // Every file, then the completion record: a reader never sees part of a version.
                try await artifacts.publish(artifactPath)
            } catch {
                throw TrainingFailure(stage: .write, reason: "publishing \(artifactPath) to \(artifacts): \(error)")
            }
            return written
        }
        log.append("artifact \(artifactPath) in \(artifacts) sha256 \(written.sha256)")
        if run.kind == .preview {
            // Kept, never deployed by the preview: a merge of the same tree can deploy it.
            let reason = "preview: every gate passed; merging it would deploy it"
            log.append(reason)
            try await finish(.succeeded, reason: reason, outcome: result, carried)
            try await store.recordPreviewModel(
                run: run.id, artifactPath: artifactPath, artifactSHA256: written.sha256,
                version: result.artifact.version, fingerprint: result.fingerprint)
            logger.info("preview passed", metadata: ["version": "\(result.artifact.version)"])
            return (.succeeded, reason, result.artifact.version)
        }
        carried.stopLiveLog()
        try await store.keep(carried.files.all, run: run.id)
        try await store.deploy(
            run: run, outcome: result, artifactPath: artifactPath, artifactSHA256: written.sha256,
            timings: timings(), log: Self.capped(log.lines))
        logger.info(
            "deployed", metadata: ["version": "\(result.artifact.version)", "metrics": "\(result.artifact.metrics)"])
        return (.succeeded, nil, result.artifact.version)
    }

    /// Records how the run ended (its kept files, status, reason, timings and whole log).
    private func finish(_ status: RunOutcome, reason: String, outcome: TrainingOutcome?, _ carried: Carried)
        async throws
    {
        carried.stopLiveLog()
        try await store.keep(carried.files.all, run: carried.run.id)
        try await store.finish(
            run: carried.run.id, status: status, reason: reason, outcome: outcome, timings: carried.timings.byName,
            log: Self.capped(carried.log.lines))
    }

    /// `finish` for a run that was cancelled or failed: the reason goes into its log too, and a
    /// database that refuses the record is logged (nil: nothing to announce).
    private func record(
        _ status: RunOutcome, reason: String, outcome: TrainingOutcome?, _ carried: Carried, logger: Logger
    ) async -> Ending? {
        carried.log.append(status == .failed ? "failed: \(reason)" : reason)
        do {
            try await finish(status, reason: reason, outcome: outcome, carried)
            return (status, reason, nil)
        } catch {
            logger.error("could not record the \(status.rawValue) run", metadata: ["error": "\(error)"])
            return nil
        }
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

    /// Where a run's Python model files are kept until its artifact is written (a run directory:
    /// `RunDirectories.removeStale` removes what a killed trainer left).
    static func pythonScratch(_ run: ClaimedRun, in workDirectory: URL) -> URL {
        workDirectory.appendingPathComponent(
            "run-\(run.id)-python\(run.attempts > 1 ? "-a\(run.attempts)" : "")", isDirectory: true)
    }

    /// How often a running run checks for a cancel request.
    static let cancelPollInterval = Duration.milliseconds(500)

    /// Checkout, then the pipeline on the thread pool, compared with the deployed model (read once).
    private func train(_ carried: Carried, version: String, suffix: String) async throws -> Trained {
        let (run, log) = (carried.run, carried.log)
        let directory = workDirectory.appendingPathComponent("run-\(run.id)\(suffix)", isDirectory: true)
        RunDirectories.removeEarlierAttempts(of: run.id, before: run.attempts, in: workDirectory)
        defer { try? FileManager.default.removeItem(at: directory) }
        guard let checkout = checkouts[run.repository.key] else {
            throw TrainingFailure(stage: .clone, reason: "\(run.repository.key) is not a followed repository")
        }
        let mirror = try await carried.timings.measure(.clone) {
            try await checkout.checkout(commit: run.pullRequest.mergeCommitSHA, into: directory)
        }
        log.append("checked out \(run.pullRequest.mergeCommitSHA) (mirror \(mirror))")
        // The manifest as committed, read once here for what the run needs before the pipeline.
        let yaml = FileManager.default.contents(atPath: directory.appendingPathComponent("conveyor.yaml").path)
            .map { String(decoding: $0, as: UTF8.self) }
        let manifest = yaml.flatMap { try? Manifest.parse($0) }
        // The live version of the model this repository's manifest names (each model its own);
        // a name another repository's model has is refused: serving answers by name.
        var deployed: DeploymentRecord?
        if let manifest {
            if let owner = try await store.otherOwner(of: manifest.name, than: run.repository) {
                throw TrainingFailure(
                    stage: .manifest,
                    reason:
                        "the model name \"\(manifest.name)\" belongs to \(owner)'s model: name this repository's model another way"
                )
            }
            deployed = try await store.deployed(model: manifest.name)
        }
        let tree = try? await CommandRunner.run(["git", "-C", directory.path, "rev-parse", "HEAD^{tree}"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        if let tree {
            try await store.recordTree(run: run.id, treeSHA: tree)
            if run.kind == .merge, let yaml, let manifest,
                let reused = try await reusePreview(
                    tree: tree, manifest: manifest, yaml: yaml, deployed: deployed, carried: carried)
            {
                return reused
            }
        }
        var replay: (version: String, requests: [ShadowRequest])?
        if let deployed {
            // As many of the live version's logged requests as the candidate's gates.shadow asks for.
            let limit = manifest?.shadow?.requests ?? Manifest.ShadowGate.defaultRequests
            let requests = try await store.loggedRequests(version: deployed.version, limit: limit)
            if !requests.isEmpty { replay = (deployed.version, requests) }
        }
        // The live model's local copy (downloaded first, with an object store); its recorded
        // metrics stand in when it cannot be read.
        var liveDirectory: URL?
        if let deployed { liveDirectory = try? await artifacts.directory(deployed.artifactPath) }
        let baseline = deployed.map { [liveDirectory] deployed in
            TrainingPipeline.Baseline(
                artifact: liveDirectory.flatMap {
                    try? ArtifactStore.load(from: $0, expectedSHA256: deployed.artifactSHA256)
                }, recordedMetrics: deployed.metricValues, replay: replay)
        }
        // Data kept outside git, fetched (or found in the cache) and verified before anything reads it.
        let dataDirectory = workDirectory.appendingPathComponent("run-\(run.id)\(suffix)-data", isDirectory: true)
        defer { try? FileManager.default.removeItem(at: dataDirectory) }
        var fetchedData: [String: URL] = [:]
        if let manifest {
            fetchedData = try await fetchData(manifest, repository: directory, into: dataDirectory, carried: carried)
        }
        let pipeline = TrainingPipeline(
            repository: directory, maxDataBytes: maxDataBytes,
            pythonEnvironments: workDirectory.appendingPathComponent("python-environments", isDirectory: true),
            commandMemoryLimit: commandMemoryLimit, sandbox: sandbox,
            scratch: Self.pythonScratch(run, in: workDirectory), fetchedData: fetchedData)
        // Training runs on a pool thread; cancelling the task stops it between trees or rounds.
        let outcome: TrainingOutcome
        do {
            outcome = try await withCancellationToken { token in
                let result = try await BlockingWork.run {
                    try pipeline.run(
                        version: version, baseline: baseline, log: log.append, keep: carried.files.add,
                        progress: { _, _ in !token.isCancelled }, cancellation: token, timings: carried.timings,
                        tests: carried.tests.set)
                }
                if token.isCancelled { throw CancellationError() }
                return result
            }
        } catch {
            if let report = carried.tests.value { try? await store.recordTests(run: run.id, report: report) }
            throw error
        }
        if let report = carried.tests.value { try await store.recordTests(run: run.id, report: report) }
        return Trained(outcome: outcome)
    }

    /// The manifest's data that is not in git (by URL, or DVC), fetched into `directory` and recorded.
    private func fetchData(_ manifest: Manifest, repository: URL, into directory: URL, carried: Carried)
        async throws -> [String: URL]
    {
        let needsFetching = manifest.data.files.contains { _, file in
            file.url != nil
                || file.path.map {
                    !FileManager.default.fileExists(atPath: repository.appendingPathComponent($0).path)
                } ?? false
        }
        guard needsFetching else { return [:] }
        guard let dataFetcher else {
            throw TrainingFailure(stage: .data, reason: "this trainer has no data fetcher configured")
        }
        let (files, lineage) = try await carried.timings.measure(.data) {
            try await RunData(fetcher: dataFetcher).fetch(
                manifest, repository: repository, into: directory, log: carried.log.append)
        }
        if !lineage.isEmpty { try await store.recordData(run: carried.run.id, files: lineage) }
        return files
    }

    /// A merge whose tree a passed preview trained: that preview's model, its gates checked
    /// again against whatever is live now (bounds, no regression against the live model's
    /// recorded metrics, the shadow replay of its logged requests). Nil when there is none, or
    /// its model cannot be read (the merge then trains as usual).
    private func reusePreview(
        tree: String, manifest: Manifest, yaml: String, deployed: DeploymentRecord?, carried: Carried
    ) async throws -> Trained? {
        guard let preview = try await store.reusablePreview(tree: tree) else { return nil }
        let start = ContinuousClock.now
        defer { carried.timings.record(.reuse, since: start) }
        guard let directory = try? await artifacts.directory(preview.artifactPath),
            let artifact = try? ArtifactStore.load(from: directory, expectedSHA256: preview.artifactSHA256)
        else {
            carried.log.append(
                "preview run \(preview.run) trained this tree, but its model could not be read: training")
            return nil
        }
        carried.log.append("tree \(tree.prefix(12)) is the one preview run \(preview.run) trained: reusing its model")
        var replay: (version: String, requests: [ShadowRequest])?
        if let deployed {
            let limit = manifest.shadow?.requests ?? Manifest.ShadowGate.defaultRequests
            let requests = try await store.loggedRequests(version: deployed.version, limit: limit)
            if !requests.isEmpty { replay = (deployed.version, requests) }
        }
        let verdict = CandidateVerdict.evaluate(
            manifest: manifest, candidate: artifact, metrics: artifact.metrics, deployedMetrics: deployed?.metricValues,
            replay: replay, timings: carried.timings, log: carried.log.append)
        let outcome = TrainingOutcome(
            manifest: manifest, manifestYAML: yaml, artifact: artifact, fingerprint: preview.fingerprint,
            gates: verdict.gates, timings: carried.timings.byName, shadow: verdict.shadow)
        return Trained(outcome: outcome, reused: preview)
    }

    private func announce(
        _ announcement: Ending?, run: ClaimedRun, timings: [String: Double], outcome: TrainingOutcome?,
        tests: RepositoryTestReport?
    )
        async
    {
        if let announcement {
            TrainerMetrics.run(kind: run.kind, outcome: announcement.status, timings: timings)
        }
        if run.kind == .preview, let announcement, let previewReporter = previewReporters[run.repository.key] {
            await previewReporter.finished(
                PreviewReport(
                    run: run.id, pr: run.pullRequest.number, commit: run.pullRequest.mergeCommitSHA,
                    status: announcement.status, reason: announcement.reason, outcome: outcome,
                    live: try? await store.liveComparison(model: outcome?.artifact.name), tests: tests,
                    data: (try? await store.dataLineage(run: run.id)) ?? []))
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
