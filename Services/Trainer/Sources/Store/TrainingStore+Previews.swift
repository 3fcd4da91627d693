import Foundation
import Learning
import Postgres
import Registry
import ServiceKit

/// An open pull request whose head a preview run trains.
public struct PreviewCandidate: Sendable, Equatable {
    public let number: Int64
    public let headSHA: String
    /// `owner/name` of the head repository (nil when GitHub no longer knows it: a deleted fork).
    public let headRepository: String?
}

/// What the last queueing of previews did.
public struct PreviewQueueing: Sendable, Equatable {
    public var queued: [Int64] = []
    /// Fork PRs left alone (`PREVIEW_FORKS` is off).
    public var skippedForks: [Int64] = []
}

/// A passed preview whose kept model a merge of the same tree deploys.
struct ReusablePreview: Sendable {
    let run: Int64
    /// Relative to `ARTIFACTS_DIR`.
    let artifactPath: String
    let artifactSHA256: String
    let fingerprint: DataFingerprint
}

/// The live model as a preview is compared with it.
public struct LiveComparison: Sendable {
    public let version: String
    public let metrics: [String: Double]
    public let dataSHA256: String?
    public let dataRows: Int64?
}

extension TrainingStore {
    /// Queues a preview of each open pull request into `tracked`'s branch whose head has none yet
    /// (a fork's only with `previewForks`), superseding that PR's older previews: queued ones
    /// are cancelled at once, a running one is asked to stop.
    public func queuePreviews(_ tracked: TrackedRepository, previewForks: Bool) async throws -> PreviewQueueing {
        let only = filter(tracked)
        let (branch, repository) = (only.branch, tracked.repository)
        return try await database.transaction { connection in
            // Serialized with the merge queuer (same lock), so a push is queued once across replicas.
            try connection.query("SELECT pg_advisory_xact_lock(\(Int64(0x7472_6169_6E65_72)))")
            let rows = try connection.query(
                """
                SELECT p.number, p.head__sha, to_jsonb(p) ->> 'head__repo__full_name' AS head_repository
                FROM pull_requests p
                WHERE p.state = 'open' AND p.base__ref = \(branch) AND p.head__sha IS NOT NULL AND p.number IS NOT NULL
                  AND (\(only.onlyOne) OR to_jsonb(p) ->> 'base__repo__full_name' = \(only.fullName))
                  AND NOT EXISTS (SELECT 1 FROM training_runs t
                                  WHERE t.kind = \(RunKind.preview) AND t.pr_number = p.number AND t.merge_commit_sha = p.head__sha
                                    AND coalesce(t.repository, \(only.firstKey)) = \(only.key))
                ORDER BY p.number
                """)
            var result = PreviewQueueing()
            for row in rows {
                let candidate = PreviewCandidate(
                    number: try row.decode("number"), headSHA: try row.decode("head__sha"),
                    headRepository: try row.decodeIfPresent("head_repository"))
                // A fork's pull request may run its own training code: untrusted unless allowed.
                if candidate.headRepository != repository || repository == nil, !previewForks {
                    result.skippedForks.append(candidate.number)
                    continue
                }
                let superseded = "superseded by a newer push (\(candidate.headSHA.prefix(7)))"
                try connection.query(
                    """
                    UPDATE training_runs SET status = \(RunStatus.cancelled), reason = \(superseded), finished_at = now()
                    WHERE kind = \(RunKind.preview) AND pr_number = \(candidate.number) AND status = \(RunStatus.queued)
                      AND coalesce(repository, \(only.firstKey)) = \(only.key)
                    """)
                try connection.query(
                    """
                    UPDATE training_runs SET cancel_requested_at = coalesce(cancel_requested_at, now()),
                        reason = \(superseded)
                    WHERE kind = \(RunKind.preview) AND pr_number = \(candidate.number) AND status = \(RunStatus.running)
                      AND coalesce(repository, \(only.firstKey)) = \(only.key)
                    """)
                try connection.query(
                    """
                    INSERT INTO training_runs (pr_number, merge_commit_sha, status, reason, kind, repository)
                    VALUES (\(candidate.number), \(candidate.headSHA), \(RunStatus.queued), 'preview of an open pull request',
                            \(RunKind.preview), \(only.key))
                    """)
                result.queued.append(candidate.number)
            }
            return result
        }
    }

    /// Why a cancel was requested: a newer push's reason, or an admin's.
    func cancelReason(run: Int64) async throws -> String {
        let rows = try await database.query("SELECT reason FROM training_runs WHERE id = \(run)")
        let reason = try rows.first?.decodeIfPresent("reason", as: String.self) ?? ""
        return reason.hasPrefix("superseded") ? reason : "cancelled by an admin"
    }

    /// Records the git tree a run checked out (a merge with the tree of a passed preview can reuse it).
    func recordTree(run: Int64, treeSHA: String) async throws {
        try await database.query("UPDATE training_runs SET tree_sha = \(treeSHA) WHERE id = \(run)")
    }

    /// Records a passed preview's written model (never deployed by the preview itself) and its data.
    func recordPreviewModel(
        run: Int64, artifactPath: String, artifactSHA256: String, version: String, fingerprint: DataFingerprint
    ) async throws {
        try await database.query(
            """
            UPDATE training_runs SET artifact_path = \(artifactPath), artifact_sha256 = \(artifactSHA256),
                model_version = \(version), data_fingerprint = \(try PostgresJSON(encoding: fingerprint))::jsonb
            WHERE id = \(run)
            """)
    }

    /// The newest passed preview of git tree `tree` (what a merge with that tree would train), if one kept its model.
    func reusablePreview(tree: String) async throws -> ReusablePreview? {
        let rows = try await database.query(
            """
            SELECT id, artifact_path, artifact_sha256, data_fingerprint::text AS fingerprint FROM training_runs
            WHERE kind = \(RunKind.preview) AND status = \(RunStatus.succeeded) AND tree_sha = \(tree) AND artifact_path IS NOT NULL
              AND data_fingerprint IS NOT NULL
            ORDER BY id DESC LIMIT 1
            """)
        guard let row = rows.first else { return nil }
        return ReusablePreview(
            run: try row.decode("id"), artifactPath: try row.decode("artifact_path"),
            artifactSHA256: try row.decode("artifact_sha256"),
            fingerprint: try PostgresJSON(text: try row.decode("fingerprint")).decode(DataFingerprint.self))
    }

    /// Records that `run` deployed the model of preview `preview` instead of training.
    func recordReuse(run: Int64, preview: Int64) async throws {
        // The preview's data lineage and test report are this merge's: it deploys what they describe.
        try await database.query(
            """
            UPDATE training_runs r SET reused_run = p.id, data_files = p.data_files, tests = p.tests
            FROM training_runs p WHERE r.id = \(run) AND p.id = \(preview)
            """)
    }

    /// The live version of `model` with the fingerprint of the data it was trained on.
    func liveComparison(model: String?) async throws -> LiveComparison? {
        guard let model else { return nil }
        let rows = try await database.query(
            """
            SELECT mv.version, mv.metrics::text AS metrics, mv.data_sha256, mv.data_rows
            FROM deployments d JOIN model_versions mv ON mv.version = d.version
            WHERE d.model_name = \(model) ORDER BY d.id DESC LIMIT 1
            """)
        guard let row = rows.first else { return nil }
        return LiveComparison(
            version: try row.decode("version"),
            metrics: try PostgresJSON(text: try row.decode("metrics")).decode([String: Double].self),
            dataSHA256: try row.decodeIfPresent("data_sha256"), dataRows: try row.decodeIfPresent("data_rows"))
    }

    /// The comment a PR's previews edit in `repository`, if one was made (comments kept while
    /// one repository was followed are the first one's).
    func previewComment(repository: String, pr: Int64) async throws -> Int64? {
        let first = repositories[0].repository ?? ""
        return try await database.query(
            """
            SELECT comment_id FROM preview_comments
            WHERE pr_number = \(pr) AND (repository = \(repository) OR (repository = '' AND \(repository) = \(first)))
            ORDER BY repository DESC LIMIT 1
            """
        ).first?.decode("comment_id", as: Int64.self)
    }

    /// Remembers the comment a PR's previews edit in `repository`.
    func setPreviewComment(repository: String, pr: Int64, commentID: Int64) async throws {
        try await database.query(
            """
            INSERT INTO preview_comments (repository, pr_number, comment_id) VALUES (\(repository), \(pr), \(commentID))
            ON CONFLICT (repository, pr_number) DO UPDATE SET comment_id = excluded.comment_id, updated_at = now()
            """)
    }

    /// Stores what was reported on GitHub for a run, and adds `line` to its stored log.
    func recordGitHubReport(run: Int64, report: PostgresJSON, line: String?) async throws {
        try await database.query(
            """
            UPDATE training_runs SET github_report = coalesce(github_report, '{}'::jsonb) || \(report)::jsonb,
                log = CASE WHEN \(line)::text IS NULL THEN log ELSE log || E'\\n' || \(line) END
            WHERE id = \(run)
            """)
    }
}
