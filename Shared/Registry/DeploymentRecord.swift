import Foundation
import JSON
import Postgres

/// A row of `deployments` joined with its `model_versions` entry.
public struct DeploymentRecord: Sendable, Codable {
    public let deploymentID: Int64
    public let version: String
    public let modelName: String
    public let reason: String
    public let deployedAt: Date
    public let prNumber: Int64
    public let prTitle: String?
    public let prAuthor: String?
    public let commitSHA: String
    /// When its pull request was merged (nil for a version recorded without one).
    public let mergedAt: Date?
    public let artifactPath: String
    public let artifactSHA256: String
    /// The version's evaluation metrics, by name.
    public let metrics: JSONValue
    /// The gates it passed (nil for versions recorded before gates were kept).
    public let gates: JSONValue?
    /// A deployment, or a rollback (by an admin or by a rollback rule).
    public let kind: DeploymentKind
    /// Set when a rollback rule rolled this version back; it is not redeployed automatically.
    public let markedBadReason: String?

    enum CodingKeys: String, CodingKey {
        case deploymentID = "deployment_id"
        case version
        case modelName = "model_name"
        case reason
        case deployedAt = "deployed_at"
        case
            prNumber = "pr_number"
        case prTitle = "pr_title"
        case prAuthor = "pr_author"
        case commitSHA = "commit_sha"
        case mergedAt = "merged_at"
        case
            artifactPath = "artifact_path"
        case artifactSHA256 = "artifact_sha256"
        case metrics
        case gates
        case kind
        case markedBadReason = "marked_bad"
    }

    /// The columns `init(row:)` reads.
    static let selectSQL = """
        SELECT d.id, d.version, d.model_name, d.reason, d.deployed_at, mv.pr_number, mv.pr_title, mv.pr_author,
               mv.commit_sha, mv.merged_at, mv.artifact_path, mv.artifact_sha256, mv.metrics::text AS metrics, mv.gates::text AS gates,
               d.kind, mv.marked_bad_reason
        FROM deployments d JOIN model_versions mv ON mv.version = d.version
        """

    /// A row of `selectSQL`.
    init(row: PostgresRow) throws {
        deploymentID = try row.decode("id")
        version = try row.decode("version")
        modelName = try row.decode("model_name")
        reason = try row.decode("reason")
        deployedAt = try row.decode("deployed_at")
        prNumber = try row.decode("pr_number")
        prTitle = try row.decodeIfPresent("pr_title")
        prAuthor = try row.decodeIfPresent("pr_author")
        commitSHA = try row.decode("commit_sha")
        mergedAt = try row.decodeIfPresent("merged_at")
        artifactPath = try row.decode("artifact_path")
        artifactSHA256 = try row.decode("artifact_sha256")
        metrics = try JSONValue.parse(Array(try row.decode("metrics", as: String.self).utf8))
        gates = try row.decodeIfPresent("gates", as: String.self).map { try JSONValue.parse(Array($0.utf8)) }
        kind = try row.decode("kind")
        markedBadReason = try row.decodeIfPresent("marked_bad_reason")
    }

    /// The numeric metrics by name (what gates compare with).
    public var metricValues: [String: Double] {
        metrics.objectValue?.compactMapValues(\.doubleValue) ?? [:]
    }

    /// The newest deployment of `model` (its live version), if any.
    public static func latest(_ database: PostgresClient, model: String) async throws -> DeploymentRecord? {
        let rows = try await database.query(
            PostgresQuery(
                unsafeSQL: selectSQL + " WHERE d.model_name = $1 ORDER BY d.id DESC LIMIT 1", parameters: [model]))
        return try rows.first.map(DeploymentRecord.init(row:))
    }

    /// The names of the live models, sorted.
    public static func modelNames(_ database: PostgresClient) async throws -> [String] {
        try await live(database).map(\.modelName)
    }

    /// The live models: each repository's newest deployment (a repository trains one model; a
    /// model renamed in its `conveyor.yaml` replaces the old name), and of two with one name
    /// the newer, sorted by name.
    public static func live(_ database: PostgresClient) async throws -> [DeploymentRecord] {
        let rows = try await database.query(
            PostgresQuery(
                unsafeSQL: selectSQL + """
                     WHERE d.id IN (
                        SELECT DISTINCT ON (l.model_name) l.id FROM (
                            SELECT DISTINCT ON (coalesce(v.repository, '')) d2.id, d2.model_name
                            FROM deployments d2 JOIN model_versions v ON v.version = d2.version
                            ORDER BY coalesce(v.repository, ''), d2.id DESC) l
                        ORDER BY l.model_name, l.id DESC)
                    ORDER BY d.model_name
                    """))
        return try rows.map(DeploymentRecord.init(row:))
    }

    /// The deployment history, newest first; with `model`, that model's only.
    public static func history(_ database: PostgresClient, model: String? = nil, limit: Int) async throws
        -> [DeploymentRecord]
    {
        let rows = try await database.query(
            PostgresQuery(
                unsafeSQL: selectSQL + " WHERE ($2::text IS NULL OR d.model_name = $2) ORDER BY d.id DESC LIMIT $1",
                parameters: [String(limit), model]))
        return try rows.map(DeploymentRecord.init(row:))
    }
}
