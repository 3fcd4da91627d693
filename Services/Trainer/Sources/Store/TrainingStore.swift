import Foundation
import Migrations
import Postgres
import Registry
import ServiceKit

/// The trainer's reads and writes: candidates, runs, versions, deployments.
public struct TrainingStore: Sendable {
    let database: PostgresClient
    /// The repositories followed (`MODELS_FILE`); runs record which one they came from.
    public let repositories: [TrackedRepository]
    /// Who holds leases taken by this process.
    let owner: String
    /// How long a claim lasts without a heartbeat, in seconds.
    let lease: Duration

    public init(
        database: PostgresClient, repositories: [TrackedRepository], lease: Duration = .seconds(60),
        owner: String? = nil
    ) {
        precondition(!repositories.isEmpty, "a trainer follows at least one repository")
        self.database = database
        self.repositories = repositories
        self.lease = lease
        self.owner = owner ?? "\(ProcessInfo.processInfo.hostName)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    }

    /// The live version of `model` (its newest deployment), if any: the one record serving reads too.
    public func deployed(model: String) async throws -> DeploymentRecord? {
        try await DeploymentRecord.latest(database, model: model)
    }

    /// The repository a run recorded (`training_runs.repository`; NULL on runs from before
    /// several were possible: the first one). Nil for one no longer followed.
    public func repository(key: String?) -> TrackedRepository? {
        guard let key else { return repositories[0] }
        return repositories.first { $0.key == key }
    }

    /// The parameters that select `repository`'s rows: pull requests into it (every row while
    /// one repository is followed: rows loaded before the stream named theirs have none) and
    /// its runs (a NULL repository is the first one's).
    struct RepositoryFilter {
        let key: String
        let fullName: String?
        let branch: String
        let onlyOne: Bool
        let firstKey: String
    }

    func filter(_ repository: TrackedRepository) -> RepositoryFilter {
        RepositoryFilter(
            key: repository.key, fullName: repository.repository, branch: repository.branch,
            onlyOne: repositories.count == 1, firstKey: repositories[0].key)
    }

    /// Queues a run for the newest untried PR merged into `repository`'s branch (the first one
    /// followed when nil) after the one its live model came from (merges dated in the future
    /// are ignored, and named in the answer).
    @discardableResult
    public func queueNewestMerge(_ repository: TrackedRepository? = nil) async throws -> MergeQueueing {
        let only = filter(repository ?? repositories[0])
        // The merge behind the newest deployment of a version this repository's runs trained.
        let deployed = try await database.query(
            """
            SELECT mv.merged_at, mv.pr_number FROM deployments d JOIN model_versions mv ON mv.version = d.version
            LEFT JOIN training_runs t ON t.id = mv.run_id
            WHERE \(only.onlyOne) OR coalesce(t.repository, \(only.firstKey)) = \(only.key)
            ORDER BY d.id DESC LIMIT 1
            """
        ).first
        let since = try deployed?.decodeIfPresent("merged_at", as: Date.self) ?? Date(timeIntervalSince1970: 0)
        let sinceNumber = try deployed?.decode("pr_number", as: Int64.self) ?? -1
        let branch = only.branch
        return try await database.transaction { connection in
            // One queuer at a time across replicas; released at commit.
            try connection.query("SELECT pg_advisory_xact_lock(\(Int64(0x7472_6169_6E65_72)))")
            // A merge dated in the future (a wrong clock, a hand-edited row) is ignored:
            // it would stay "newest" forever and hide every real merge after it.
            let future = try connection.query(
                """
                SELECT p.number FROM pull_requests p
                WHERE p.base__ref = \(branch) AND p.merged_at > now() + interval '5 minutes'
                  AND (\(only.onlyOne) OR to_jsonb(p) ->> 'base__repo__full_name' = \(only.fullName)) ORDER BY p.number
                """
            ).map { try $0.decode("number", as: Int64.self) }
            // The newest merge after the deployed one that has not been tried: one that
            // failed (or was rejected) does not stop later merges from being queued.
            let rows = try connection.query(
                """
                SELECT p.number, p.merge_commit_sha, p.merged_at FROM pull_requests p
                WHERE p.base__ref = \(branch) AND p.merged_at IS NOT NULL AND p.merge_commit_sha IS NOT NULL
                  AND p.merged_at <= now() + interval '5 minutes'
                  AND (\(only.onlyOne) OR to_jsonb(p) ->> 'base__repo__full_name' = \(only.fullName))
                  AND (p.merged_at > \(since) OR (p.merged_at = \(since) AND p.number > \(sinceNumber)))
                  AND NOT EXISTS (SELECT 1 FROM training_runs t
                                  WHERE t.merge_commit_sha = p.merge_commit_sha AND t.kind <> \(RunKind.preview))
                ORDER BY p.merged_at DESC, p.number DESC LIMIT 1
                """)
            guard let row = rows.first else { return MergeQueueing(queued: nil, futureDated: future) }
            let number: Int64 = try row.decode("number")
            try connection.query(
                """
                INSERT INTO training_runs (pr_number, merge_commit_sha, merged_at, status, reason, repository)
                VALUES (\(number), \(try row.decode("merge_commit_sha", as: String.self)),
                        \(try row.decode("merged_at", as: Date.self)), \(RunStatus.queued), 'merged', \(only.key))
                """)
            return MergeQueueing(queued: number, futureDated: future)
        }
    }

    /// Queues a retrain of a given PR of `repository` (the first followed when nil) (admin).
    /// Returns the run id.
    public func queueRetrain(prNumber: Int64, repository: TrackedRepository? = nil) async throws -> RetrainRequest {
        let only = filter(repository ?? repositories[0])
        let branch = only.branch
        return try await database.transaction { connection in
            // Serialized with the merge queuer, so two requests cannot both pass the check below.
            try connection.query("SELECT pg_advisory_xact_lock(\(Int64(0x7472_6169_6E65_72)))")
            let rows = try connection.query(
                """
                SELECT merge_commit_sha, merged_at FROM pull_requests
                WHERE number = \(prNumber) AND base__ref = \(branch) AND merged_at IS NOT NULL
                  AND (\(only.onlyOne) OR to_jsonb(pull_requests) ->> 'base__repo__full_name' = \(only.fullName))
                """)
            guard let row = rows.first else { return .noSuchPullRequest }
            let sha: String = try row.decode("merge_commit_sha")
            let active = try connection.query(
                """
                SELECT id FROM training_runs WHERE merge_commit_sha = \(sha) AND status = ANY(\(RunStatus.unfinished))
                ORDER BY id LIMIT 1
                """)
            if let existing = try active.first?.decode("id", as: Int64.self) { return .duplicate(of: existing) }
            let inserted = try connection.query(
                """
                INSERT INTO training_runs (pr_number, merge_commit_sha, merged_at, status, reason, kind, repository)
                VALUES (\(prNumber), \(sha), \(try row.decode("merged_at", as: Date.self)), \(RunStatus.queued), 'retrain requested',
                        \(RunKind.retrain), \(only.key))
                RETURNING id
                """)
            return .queued(try inserted.first!.decode("id", as: Int64.self))
        }
    }

    /// Takes the oldest queued run, or a running one whose trainer stopped
    /// renewing its lease (crashed), skipping rows another trainer is claiming,
    /// in `lane`: merges and retrains, or previews (each lane has its own worker,
    /// so a merge never waits behind a preview); with `repository`, only its runs (each
    /// repository's merges have their own worker, so one model's long training never holds up
    /// another's merge).
    public func claimQueuedRun(lane: RunLane = .deployments, repository: TrackedRepository? = nil) async throws
        -> ClaimedRun?
    {
        let owner = owner
        let only = repository.map(filter)
        let followed = repositories.map(\.key)
        let firstKey = repositories[0].key
        let previews = lane == .previews
        let lease = lease.inSeconds
        return try await database.transaction { connection in
            // A run whose trainer died after an admin asked to cancel it is not taken over.
            try connection.query(
                """
                UPDATE training_runs SET status = \(RunStatus.cancelled), reason = 'cancelled by an admin', finished_at = now()
                WHERE status = \(RunStatus.running) AND lease_expires_at < now() AND cancel_requested_at IS NOT NULL
                """)
            let rows = try connection.query(
                """
                UPDATE training_runs SET status = \(RunStatus.running), started_at = now(), lease_owner = \(owner),
                    lease_expires_at = now() + make_interval(secs => \(lease)), attempts = attempts + 1
                WHERE id = (SELECT id FROM training_runs
                            WHERE (status = \(RunStatus.queued) OR (status = \(RunStatus.running) AND lease_expires_at < now()))
                              AND (kind = \(RunKind.preview)) = \(previews)
                              AND coalesce(repository, \(firstKey)) = ANY(\(followed))
                              AND (\(only?.key)::text IS NULL OR coalesce(repository, \(firstKey)) = \(only?.key))
                            ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
                RETURNING id, pr_number, merge_commit_sha, coalesce(merged_at, created_at) AS merged_at, attempts, kind,
                          repository
                """)
            guard let row = rows.first else { return nil }
            let sha: String = try row.decode("merge_commit_sha")
            let number: Int64 = try row.decode("pr_number")
            let pull = try connection.query(
                """
                SELECT title, user__login FROM pull_requests
                WHERE merge_commit_sha = \(sha) OR (number = \(number) AND head__sha = \(sha)) LIMIT 1
                """
            ).first
            // Claimed only among followed repositories: it is one of them.
            let repository = self.repository(key: try row.decodeIfPresent("repository")) ?? repositories[0]
            return ClaimedRun(
                id: try row.decode("id"),
                pullRequest: MergedPullRequest(
                    number: number, title: try pull?.decodeIfPresent("title"),
                    author: try pull?.decodeIfPresent("user__login"), mergeCommitSHA: sha,
                    mergedAt: try row.decode("merged_at")),
                attempts: try row.decode("attempts"),
                kind: RunKind(rawValue: try row.decode("kind", as: String.self)) ?? .merge, repository: repository)
        }
    }

    /// Whether an admin asked to cancel `run`.
    public func isCancelRequested(run: Int64) async throws -> Bool {
        let rows = try await database.query(
            "SELECT cancel_requested_at IS NOT NULL AS requested FROM training_runs WHERE id = \(run)")
        return try rows.first?.decode("requested", as: Bool.self) ?? false
    }

    /// Cancels a queued run at once, or asks the trainer running it to stop.
    /// Returns the run's status after the request, or nil when there is no such run.
    public func requestCancel(run: Int64) async throws -> RunStatus? {
        try await database.transaction { connection in
            let rows = try connection.query(
                """
                UPDATE training_runs SET
                    status = CASE WHEN status = \(RunStatus.queued) THEN \(RunStatus.cancelled) ELSE status END,
                    reason = CASE WHEN status = \(RunStatus.queued) THEN 'cancelled before it started' ELSE reason END,
                    finished_at = CASE WHEN status = \(RunStatus.queued) THEN now() ELSE finished_at END,
                    cancel_requested_at = coalesce(cancel_requested_at, now())
                WHERE id = \(run) RETURNING status
                """)
            return try rows.first?.decode("status", as: RunStatus.self)
        }
    }

    /// The queued or running run of `commit`, if any (a retrain of it would duplicate it).
    public func activeRun(commit: String) async throws -> Int64? {
        let rows = try await database.query(
            """
            SELECT id FROM training_runs WHERE merge_commit_sha = \(commit) AND status = ANY(\(RunStatus.unfinished))
            ORDER BY id LIMIT 1
            """)
        return try rows.first?.decode("id", as: Int64.self)
    }

    /// Runs being trained under a live lease (by any trainer).
    public func activeRunIDs() async throws -> Set<Int64> {
        let rows = try await database.query(
            "SELECT id FROM training_runs WHERE status = \(RunStatus.running) AND lease_expires_at >= now()")
        return Set(try rows.map { try $0.decode("id", as: Int64.self) })
    }

    /// Extends this trainer's lease on a run; false when it was lost.
    public func renewLease(run: Int64) async throws -> Bool {
        let rows = try await database.query(
            """
            UPDATE training_runs SET lease_expires_at = now() + make_interval(secs => \(lease.inSeconds))
            WHERE id = \(run) AND lease_owner = \(owner) AND status = \(RunStatus.running)
            """)
        return rows.affectedRows == 1
    }

    /// Records a run that ended without a deployment.
    public func finish(
        run: Int64, status: RunOutcome, reason: String, outcome: TrainingOutcome?, timings: [String: Double],
        log: String
    ) async throws {
        let metrics = try outcome.map { try PostgresJSON(encoding: $0.artifact.metrics) }
        let gates = try outcome.map { try PostgresJSON(encoding: $0.gates) }
        let shadow = try outcome?.shadow.map { try PostgresJSON(encoding: $0) }
        let params = try outcome.map { try PostgresJSON(encoding: $0.manifest.model) }
        let timingsJSON = try PostgresJSON(encoding: timings)
        let name = outcome?.manifest.name
        let owner = owner
        let updated = try await database.query(
            """
            UPDATE training_runs SET status = \(status.rawValue), reason = \(reason), model_name = \(name),
                params = \(params)::jsonb, metrics = \(metrics)::jsonb, gates = \(gates)::jsonb,
                shadow = \(shadow)::jsonb,
                timings = \(timingsJSON)::jsonb, log = \(log), finished_at = now(), lease_expires_at = NULL
            WHERE id = \(run) AND lease_owner = \(owner) AND status = \(RunStatus.running)
            """)
        if updated.affectedRows != 1 { throw LeaseLost(run: run) }
    }

    /// The repository another model version named `model` came from, when one other than
    /// `repository` trained it: a model name belongs to one repository (serving answers by name).
    public func otherOwner(of model: String, than repository: TrackedRepository) async throws -> String? {
        try await database.query(
            """
            SELECT repository FROM model_versions
            WHERE model_name = \(model) AND repository IS NOT NULL AND repository <> \(repository.key) LIMIT 1
            """
        ).first?.decode("repository", as: String.self)
    }

    /// Records the model version, the deployment and the run's success in one
    /// transaction, and notifies `serving` (delivered at commit).
    public func deploy(
        run: ClaimedRun, outcome: TrainingOutcome, artifactPath: String, artifactSHA256: String,
        timings: [String: Double], log: String, reason: String = "deployed"
    ) async throws {
        let artifact = outcome.artifact
        let metrics = try PostgresJSON(encoding: artifact.metrics)
        let gates = try PostgresJSON(encoding: outcome.gates)
        let shadow = try outcome.shadow.map { try PostgresJSON(encoding: $0) }
        let params = try PostgresJSON(encoding: outcome.manifest.model)
        let timingsJSON = try PostgresJSON(encoding: timings)
        let pr = run.pullRequest
        let owner = owner
        try await database.transaction { connection in
            // Only the lease holder may deploy: a trainer that lost its lease rolls back here.
            let claimed = try connection.query(
                """
                UPDATE training_runs SET status = \(RunStatus.succeeded), reason = \(reason), model_name = \(artifact.name),
                    params = \(params)::jsonb, metrics = \(metrics)::jsonb, gates = \(gates)::jsonb,
                    shadow = \(shadow)::jsonb,
                    timings = \(timingsJSON)::jsonb, log = \(log), model_version = \(artifact.version), finished_at = now(),
                    lease_expires_at = NULL
                WHERE id = \(run.id) AND lease_owner = \(owner) AND status = \(RunStatus.running)
                """)
            guard claimed.affectedRows == 1 else { throw LeaseLost(run: run.id) }
            try connection.query(
                """
                INSERT INTO model_versions (version, model_name, run_id, pr_number, pr_title, pr_author, commit_sha,
                    merged_at, data_sha256, data_rows, params, metrics, gates, artifact_path, artifact_sha256, repository)
                VALUES (\(artifact.version), \(artifact.name), \(run.id), \(pr.number), \(pr.title), \(pr.author),
                    \(pr.mergeCommitSHA), \(pr.mergedAt), \(outcome.fingerprint.sha256), \(outcome.fingerprint.rows),
                    \(params)::jsonb, \(metrics)::jsonb, \(gates)::jsonb, \(artifactPath), \(artifactSHA256),
                    \(run.repository.key))
                """)
            try Deployments.record(
                connection, model: artifact.name, version: artifact.version, reason: "trained", kind: .deploy)
        }
    }
}
