import Foundation
import JSON
import Postgres
import Registry

/// What the dashboard reads from Postgres: training runs with their pull
/// requests and versions, deployments, the prediction log's recent traffic
/// and the live version's newest monitoring report. Lists are bounded and
/// ordered by primary key, so pages stay fast with thousands of runs. Every
/// value is a bound parameter; `unsafeSQL` only joins fixed column lists.
struct DashboardStore: Sendable {
    let database: PostgresClient

    /// A training run as the timeline and the runs page show it.
    struct Run: Sendable {
        let id: Int64
        /// merge, retrain or preview (an open pull request's head, never deployed).
        let kind: RunKind
        let prNumber: Int64
        let prTitle: String?
        let prAuthor: String?
        let commit: String
        let status: RunStatus
        let reason: String?
        let version: String?
        let metrics: [String: Double]
        let gates: [GateRecord]
        let timings: [String: Double]
        let createdAt: Date
        let startedAt: Date?
        let finishedAt: Date?
        let markedBadReason: String?
        /// Only `run(id:)` reads the log.
        let log: String?
        /// Data fetched outside git (only `run(id:)` reads it).
        var dataFiles: [DataFileRow] = []
        /// The repository's test report (only `run(id:)` reads it).
        var tests: TestSummary? = nil
    }

    /// A gate's outcome as the trainer stored it.
    struct GateRecord: Sendable, Decodable {
        let gate: String
        let metric: String
        let value: Double?
        let threshold: Double?
        let passed: Bool
        let detail: String
    }

    /// A version that was trained and deployed (`model_versions`).
    struct Version: Sendable {
        let version: String
        let modelName: String
        let runID: Int64?
        let prNumber: Int64
        let prTitle: String?
        let prAuthor: String?
        let commit: String
        let dataSHA256: String?
        let dataRows: Int64?
        let params: JSONValue
        let metrics: [String: Double]
        let gates: [GateRecord]
        let artifactPath: String
        let artifactSHA256: String
        let createdAt: Date
        let markedBadReason: String?
    }

    /// A row of `deployments`.
    struct Deployment: Sendable {
        let id: Int64
        let version: String
        let kind: DeploymentKind
        let reason: String
        let deployedAt: Date
    }

    /// A list leaves out each run's metrics and gates (decoding them per row was most of a 200-run page).
    private static func runColumns(details: Bool) -> String {
        """
        t.id, t.kind, t.pr_number, coalesce(mv.pr_title, p.title) AS pr_title, coalesce(mv.pr_author, p.author) AS pr_author,
        t.merge_commit_sha, t.status, t.reason, t.model_version,
        \(details ? "t.metrics::text AS metrics, t.gates::text AS gates" : "NULL::text AS metrics, NULL::text AS gates"),
        \(details ? "t.data_files::text AS data_files, t.tests::text AS tests" : "NULL::text AS data_files, NULL::text AS tests"),
        t.timings::text AS timings, t.created_at, t.started_at, t.finished_at, mv.marked_bad_reason
        """
    }

    private static let runJoins = """
        FROM training_runs t
        LEFT JOIN model_versions mv ON mv.version = t.model_version
        LEFT JOIN LATERAL (SELECT title, user__login AS author FROM pull_requests
                           WHERE merge_commit_sha = t.merge_commit_sha
                           UNION ALL
                           SELECT title, user__login FROM pull_requests
                           WHERE t.kind = '\(RunKind.preview.rawValue)' AND number = t.pr_number LIMIT 1) p ON true
        """

    /// The newest runs (`status` filters; `before` pages back by id; `model`: only runs that
    /// trained that model).
    func runs(limit: Int, status: String? = nil, before: Int64? = nil, model: String? = nil) async throws -> [Run] {
        let rows = try await database.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT \(Self.runColumns(details: false)) \(Self.runJoins)
                    WHERE ($1::text IS NULL OR t.status = $1) AND ($2::bigint IS NULL OR t.id < $2)
                      AND ($4::text IS NULL OR t.model_name = $4)
                    ORDER BY t.id DESC LIMIT $3
                    """, parameters: [status, before.map(String.init), String(limit), model]))
        return try rows.map { try Self.run($0, log: nil) }
    }

    /// One run with its log.
    func run(id: Int64) async throws -> Run? {
        let rows = try await database.query(
            PostgresQuery(
                unsafeSQL: "SELECT \(Self.runColumns(details: true)), t.log \(Self.runJoins) WHERE t.id = $1",
                parameters: [String(id)]))
        return try rows.first.map { try Self.run($0, log: try $0.decodeIfPresent("log")) }
    }

    /// Every deployed version, oldest first (at most `limit`, the newest ones), without
    /// parameters and gates (the charts need metrics; `version(_:)` has the rest).
    func versions(limit: Int = 200, model: String? = nil) async throws -> [Version] {
        let rows = try await database.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT * FROM (SELECT \(Self.versionColumns(details: false)) FROM model_versions
                                   WHERE $2::text IS NULL OR model_name = $2
                                   ORDER BY created_at DESC, version DESC LIMIT $1) v
                    ORDER BY created_at, version
                    """, parameters: [String(limit), model]))
        return try rows.map(Self.version)
    }

    /// One version, if it exists.
    func version(_ version: String) async throws -> Version? {
        let rows = try await database.query(
            PostgresQuery(
                unsafeSQL: "SELECT \(Self.versionColumns(details: true)) FROM model_versions WHERE version = $1",
                parameters: [version]
            ))
        return try rows.first.map(Self.version)
    }

    /// The newest deployments (rollbacks included).
    func deployments(limit: Int, version: String? = nil, model: String? = nil) async throws -> [Deployment] {
        let rows = try await database.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT id, version, kind, reason, deployed_at FROM deployments
                    WHERE ($1::text IS NULL OR version = $1) AND ($3::text IS NULL OR model_name = $3)
                    ORDER BY id DESC LIMIT $2
                    """, parameters: [version, String(limit), model]))
        return try rows.map { row in
            Deployment(
                id: try row.decode("id"), version: try row.decode("version"), kind: try row.decode("kind"),
                reason: try row.decode("reason"), deployedAt: try row.decode("deployed_at"))
        }
    }

    /// Predictions per minute over the last `minutes`, and the latency quantiles of that window.
    struct Traffic: Sendable {
        let perMinute: [(minute: Date, predictions: Int)]
        let p50Milliseconds: Double?
        let p99Milliseconds: Double?
        let requests: Int
    }

    /// `model`: only that model's predictions.
    func traffic(minutes: Int, model: String? = nil) async throws -> Traffic {
        let window = String(minutes)
        let ofModel =
            "($2::text IS NULL OR model_version IN (SELECT version FROM model_versions WHERE model_name = $2))"
        let buckets = try await database.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT date_trunc('minute', logged_at) AS minute, sum(instances)::bigint AS n
                    FROM prediction_log WHERE logged_at > now() - make_interval(mins => $1::int) AND \(ofModel)
                    GROUP BY 1 ORDER BY 1
                    """, parameters: [window, model]))
        let quantiles = try await database.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT count(*)::bigint AS requests,
                           percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_us) / 1000.0 AS p50,
                           percentile_cont(0.99) WITHIN GROUP (ORDER BY latency_us) / 1000.0 AS p99
                    FROM prediction_log WHERE logged_at > now() - make_interval(mins => $1::int) AND \(ofModel)
                    """, parameters: [window, model]))
        let summary = quantiles.first
        return Traffic(
            perMinute: try buckets.map { (try $0.decode("minute"), Int(try $0.decode("n", as: Int64.self))) },
            p50Milliseconds: try summary?.decodeIfPresent("p50"), p99Milliseconds: try summary?.decodeIfPresent("p99"),
            requests: Int(try summary?.decodeIfPresent("requests", as: Int64.self) ?? 0))
    }

    /// The newest monitoring report of `version`.
    func latestReport(version: String) async throws -> MonitoringReport? {
        try await MonitoringStore(database: database).latest(version: version)
    }

    // MARK: - Rows

    private static func versionColumns(details: Bool) -> String {
        """
        version, model_name, run_id, pr_number, pr_title, pr_author, commit_sha, data_sha256, data_rows,
        \(details ? "coalesce(params::text, 'null') AS params, gates::text AS gates" : "'null' AS params, NULL::text AS gates"),
        metrics::text AS metrics, artifact_path, artifact_sha256, created_at, marked_bad_reason
        """
    }

    private static func version(_ row: PostgresRow) throws -> Version {
        Version(
            version: try row.decode("version"), modelName: try row.decode("model_name"),
            runID: try row.decodeIfPresent("run_id"), prNumber: try row.decode("pr_number"),
            prTitle: try row.decodeIfPresent("pr_title"), prAuthor: try row.decodeIfPresent("pr_author"),
            commit: try row.decode("commit_sha"), dataSHA256: try row.decodeIfPresent("data_sha256"),
            dataRows: try row.decodeIfPresent("data_rows"),
            params: try JSONValue.parse(Array(try row.decode("params", as: String.self).utf8)),
            metrics: try numbers(try row.decode("metrics")), gates: try gates(try row.decodeIfPresent("gates")),
            artifactPath: try row.decode("artifact_path"), artifactSHA256: try row.decode("artifact_sha256"),
            createdAt: try row.decode("created_at"), markedBadReason: try row.decodeIfPresent("marked_bad_reason"))
    }

    private static func run(_ row: PostgresRow, log: String?) throws -> Run {
        Run(
            id: try row.decode("id"), kind: try row.decode("kind"), prNumber: try row.decode("pr_number"),
            prTitle: try row.decodeIfPresent("pr_title"),
            prAuthor: try row.decodeIfPresent("pr_author"), commit: try row.decode("merge_commit_sha"),
            status: try row.decode("status"), reason: try row.decodeIfPresent("reason"),
            version: try row.decodeIfPresent("model_version"),
            metrics: try numbers(try row.decodeIfPresent("metrics")),
            gates: try gates(try row.decodeIfPresent("gates")),
            timings: try numbers(try row.decodeIfPresent("timings")), createdAt: try row.decode("created_at"),
            startedAt: try row.decodeIfPresent("started_at"), finishedAt: try row.decodeIfPresent("finished_at"),
            markedBadReason: try row.decodeIfPresent("marked_bad_reason"), log: log,
            dataFiles: DataFileRow.rows(try row.decodeIfPresent("data_files")),
            tests: TestSummary(try row.decodeIfPresent("tests")))
    }

    /// A JSON object of numbers (non-numbers are left out).
    private static func numbers(_ text: String?) throws -> [String: Double] {
        guard let text, case .object(let object) = try JSONValue.parse(Array(text.utf8)) else { return [:] }
        return object.compactMapValues(\.doubleValue)
    }

    private static func gates(_ text: String?) throws -> [GateRecord] {
        guard let text else { return [] }
        return (try? JSONDecoder().decode([GateRecord].self, from: Data(text.utf8))) ?? []
    }
}
