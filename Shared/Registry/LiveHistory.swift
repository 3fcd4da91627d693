import Postgres

/// The versions of one model that were live, oldest first, replayed from
/// `deployments`: a deployment pushes its version; a rollback pops back to the
/// version it restored. Shared by the admin rollback (serving) and rollback
/// rules (trainer). Each model has its own history: rolling one back never
/// touches another.
public struct LiveHistory: Sendable {
    /// A version that was live, and whether a rollback rule marked it bad.
    public struct Entry: Sendable, Equatable {
        public let version: String
        public let model: String
        public let bad: Bool
    }

    public private(set) var stack: [Entry] = []
    /// Whether the newest deployment is a rollback (the live version was restored, not trained).
    public private(set) var liveIsRollback = false

    public init(_ deployments: [(version: String, model: String, isRollback: Bool)], bad: Set<String> = []) {
        for deployment in deployments {
            // Deploying the live version again changes nothing live (and must not make a
            // rollback "restore" the very version it leaves).
            if !deployment.isRollback, stack.last?.version == deployment.version {
                liveIsRollback = false
                continue
            }
            if deployment.isRollback, let index = stack.lastIndex(where: { $0.version == deployment.version }) {
                stack.removeSubrange((index + 1)...)
            } else {
                stack.append(Entry(version: deployment.version, model: deployment.model, bad: false))
            }
            liveIsRollback = deployment.isRollback
        }
        stack = stack.map { Entry(version: $0.version, model: $0.model, bad: bad.contains($0.version)) }
    }

    /// The live version, if any.
    public var live: Entry? { stack.last }

    /// The newest version live before the current one that is not marked bad.
    public var previous: Entry? { stack.dropLast().last { !$0.bad } }

    /// Reads `model`'s history in `connection`'s transaction, locking `deployments`
    /// against concurrent deployments until it commits.
    public static func load(_ connection: PostgresConnection, model: String) throws -> LiveHistory {
        try connection.query("LOCK TABLE deployments IN SHARE ROW EXCLUSIVE MODE")
        let rows = try connection.query(
            """
            SELECT d.version, d.model_name, d.kind, mv.marked_bad_at IS NOT NULL AS bad
            FROM deployments d LEFT JOIN model_versions mv ON mv.version = d.version
            WHERE d.model_name = \(model) ORDER BY d.id
            """)
        var deployments: [(version: String, model: String, isRollback: Bool)] = []
        var bad: Set<String> = []
        for row in rows {
            let version: String = try row.decode("version")
            let kind = try row.decode("kind", as: DeploymentKind.self)
            deployments.append((version, try row.decode("model_name"), kind == .rollback))
            if try row.decode("bad", as: Bool.self) { bad.insert(version) }
        }
        return LiveHistory(deployments, bad: bad)
    }
}
