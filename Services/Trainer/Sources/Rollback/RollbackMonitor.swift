import Artifacts
import Foundation
import JSON
import Learning
import Logging
import Metrics
import Migrations
import Postgres
import Registry
import ServiceKit
import ServiceLifecycle
import Synchronization

/// The control plane's watch on the live version: each new monitoring
/// report of it (computed by `serving`) is checked against the version's
/// `monitoring.rollback_when` rules, the evaluations are stored, and when a
/// rule trips the version is rolled back to the previous good one: a
/// `rollback` deployment with the rule, figures and window as its reason,
/// NOTIFY (every serving replica follows), a notification, and the bad
/// version marked so it is not redeployed automatically. One trainer replica
/// evaluates at a time (an advisory lock held for the pass). No flapping: a
/// live version restored by a rollback is never rolled back automatically,
/// and there is no rollback past the first deployment.
public final class RollbackMonitor: Service, Sendable {
    let database: PostgresClient
    let store: TrainingStore
    let artifacts: ArtifactStorage
    let interval: Duration
    let notifier: RunNotifier?
    let logger: Logger
    private let rollbacks = Counter(label: "conveyor_automatic_rollbacks_total")
    /// Rules by version (an artifact's manifest never changes).
    private let rules = Mutex<[String: [RollbackRule]]>([:])

    static let lockKey: Int64 = 0x636f_6e76_726f_6c6c

    public init(
        database: PostgresClient, store: TrainingStore, artifacts: ArtifactStorage, interval: Duration,
        notifier: RunNotifier?, logger: Logger
    ) {
        self.database = database
        self.store = store
        self.artifacts = artifacts
        self.interval = interval
        self.notifier = notifier
        self.logger = logger
    }

    public func run() async throws {
        await PeriodicWork.run(every: interval, logger: logger, failure: "rollback rules check failed") {
            try await self.check()
        }
    }

    /// Evaluates each model's live version (one model's rollback never touches another).
    func check() async throws {
        for live in try await DeploymentRecord.live(database) { try await check(live) }
    }

    /// Evaluates the newest unevaluated report of `live`, rolling its model back when a rule trips.
    private func check(_ live: DeploymentRecord) async throws {
        // The manifest beside the artifact (a local copy of it first, with an object store).
        _ = try? await artifacts.directory(live.artifactPath)
        let rules = rules(of: live.version, path: live.artifactPath)
        guard !rules.isEmpty else { return }
        let announcement: RollbackAnnouncement? = try await database.transaction { connection in
            let turn = try connection.query("SELECT pg_try_advisory_xact_lock(\(Self.lockKey)) AS mine")
            guard try turn.first?.decode("mine", as: Bool.self) == true else { return nil }
            let history = try LiveHistory.load(connection, model: live.modelName)
            guard let current = history.live, current.version == live.version else { return nil }
            let reports = try connection.query(
                """
                SELECT r.id, r.report::text AS report, r.window_start, r.window_end FROM monitoring_reports r
                WHERE r.model_version = \(live.version)
                  AND r.computed_at >= (SELECT deployed_at FROM deployments WHERE id = \(live.deploymentID))
                  AND NOT EXISTS (SELECT 1 FROM rule_evaluations e WHERE e.report_id = r.id)
                ORDER BY r.id DESC LIMIT 1
                """)
            guard let row = reports.first else { return nil }
            let reportID: Int64 = try row.decode("id")
            let report = try JSONValue.parse(Array(try row.decode("report", as: String.self).utf8))
            let start: Date? = try row.decodeIfPresent("window_start")
            let end: Date = try row.decode("window_end")
            var latency: (p99: Double?, requests: Int)?
            if rules.contains(where: { $0.measure == .p99LatencyMilliseconds }), let start {
                let found = try connection.query(
                    """
                    SELECT percentile_cont(0.99) WITHIN GROUP (ORDER BY latency_us) / 1000.0 AS p99, count(*)::int AS n
                    FROM prediction_log WHERE model_version = \(live.version) AND logged_at >= \(start) AND logged_at <= \(end)
                    """)
                latency = (try found.first?.decodeIfPresent("p99"), try found.first?.decode("n") ?? 0)
            }
            let evaluations = rules.map { RuleEvaluation.evaluate($0, report: report, latency: latency) }
            let tripped = evaluations.filter { $0.verdict == .tripped }
            var action: String?
            var announcement: RollbackAnnouncement?
            if !tripped.isEmpty {
                let window = "\(start?.formatted(.iso8601) ?? "the start") to \(end.formatted(.iso8601))"
                let reason =
                    "automatic rollback of \(live.version): \(tripped.map(\.summary).joined(separator: "; ")) in the window \(window) (report \(reportID))"
                if history.liveIsRollback {
                    action = "not rolled back: the live version was itself restored by a rollback"
                } else if let previous = history.previous {
                    try Deployments.record(
                        connection, model: previous.model, version: previous.version, reason: reason, kind: .rollback)
                    try connection.query(
                        """
                        UPDATE model_versions SET marked_bad_at = now(), marked_bad_reason = \(reason)
                        WHERE version = \(live.version)
                        """)
                    action = "rolled back to \(previous.version)"
                    announcement = RollbackAnnouncement(
                        text: "Conveyor rolled back \(live.version) to \(previous.version): \(reason)",
                        fromVersion: live.version, toVersion: previous.version, reason: reason, reportID: reportID)
                } else {
                    action = "not rolled back: there is no earlier good version"
                }
            }
            for evaluation in evaluations {
                try connection.query(
                    """
                    INSERT INTO rule_evaluations (report_id, model_version, rule, value, bound, samples, verdict, action)
                    VALUES (\(reportID), \(live.version), \(evaluation.rule.name), \(evaluation.value),
                            \(evaluation.rule.boundText), \(evaluation.samples.map { Int64($0) }),
                            \(evaluation.verdict.rawValue), \(evaluation.verdict == .tripped ? action : nil))
                    """)
            }
            return announcement
        }
        guard let announcement else { return }
        rollbacks.increment()
        logger.notice(
            "automatic rollback",
            metadata: [
                "from": "\(announcement.fromVersion)", "to": "\(announcement.toVersion)",
                "reason": "\(announcement.reason)",
            ])
        await notifier?.send(
            announcement, subject: announcement.text,
            details: [
                "From: \(announcement.fromVersion)", "To: \(announcement.toVersion)", "Reason: \(announcement.reason)",
            ], about: "rollback of \(announcement.fromVersion)")
    }

    /// The version's rollback rules, from the manifest stored beside its artifact.
    private func rules(of version: String, path: String) -> [RollbackRule] {
        if let cached = rules.withLock({ $0[version] }) { return cached }
        guard let yaml = ArtifactStore.manifestYAML(root: artifacts.local, path: path) else {
            // Said once per version: an artifact without its manifest has no rules to check.
            logger.warning(
                "no manifest beside the live artifact; its rollback rules are unknown",
                metadata: ["version": "\(version)"])
            rules.withLock { $0[version] = [] }
            return []
        }
        let found = (try? Manifest.parse(yaml))?.monitoring?.rollbackRules ?? []
        rules.withLock { $0[version] = found }
        return found
    }
}
