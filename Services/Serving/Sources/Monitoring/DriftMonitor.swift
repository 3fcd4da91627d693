import Artifacts
import DurationUnits
import Foundation
import Learning
import Logging
import Metrics
import Postgres
import ServiceKit
import ServiceLifecycle
import Synchronization

/// Computes drift and live-performance reports for every version that
/// answered in the window, on a timer (`MONITORING_INTERVAL`) and on demand;
/// stores them and sets the gauges. Replicas share the work through an
/// advisory lock: one computes, the others read the stored reports.
public final class DriftMonitor: Service, Sendable {
    let database: PostgresClient
    let store: ModelStore
    let artifacts: ArtifactStorage
    let interval: Duration
    let logger: Logger
    /// Artifacts of versions no longer live, loaded once.
    private let versions = Mutex<[String: MonitoredVersion]>([:])
    /// The advisory lock one replica computes under.
    static let lockKey: Int64 = 0x636f_6e76_6d6f_6e

    public init(
        database: PostgresClient, store: ModelStore, artifacts: ArtifactStorage, interval: Duration, logger: Logger
    ) {
        self.database = database
        self.store = store
        self.artifacts = artifacts
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        await PeriodicWork.run(every: interval, logger: logger, failure: "monitoring report failed") {
            let reports = try await self.compute(takeTurn: true)
            MonitoringGauges.set(reports.isEmpty ? try await self.latest() : reports)
        }
    }

    /// Computes and stores reports for the window ending now, for every model served (or only
    /// `model`); with `takeTurn`, only when no other replica is computing.
    func compute(takeTurn: Bool = false, model: String? = nil) async throws -> [MonitoringReport] {
        var reports: [MonitoringReport] = []
        for live in store.models where model == nil || live.name == model {
            reports += try await compute(live, takeTurn: takeTurn)
        }
        return reports
    }

    /// The reports of `live`'s model: its live version and the versions of it that answered in
    /// the window.
    private func compute(_ live: LoadedModel, takeTurn: Bool) async throws -> [MonitoringReport] {
        guard let liveVersion = try await version(live.deployment.version) else { return [] }
        let window = MonitoringWindow(liveVersion.spec.resolvedWindow)
        let end = Date()
        let start = ContinuousClock.now
        // Where the window starts: for "last N", counted back over the rollups' periods (one
        // snapshot, see RollupCoverage); the clock for "minutes".
        let since: Date
        if let last = window.last {
            since = try await database.transaction { connection in
                try connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                return try RollupCoverage.read(connection).windowStart(connection, end: end, last: last)
            }
        } else {
            since = window.since(end)
        }
        // The model's versions live at some point in the window (a lagging replica gets 10 minutes).
        let served = try await database.query(
            """
            SELECT DISTINCT version FROM (
                SELECT version, deployed_at, lead(deployed_at) OVER (ORDER BY id) AS replaced_at FROM deployments
                WHERE model_name = \(live.name)) d
            WHERE deployed_at <= \(end) AND (replaced_at IS NULL OR replaced_at >= \(since.addingTimeInterval(-600)))
            """
        ).map { try $0.decode("version", as: String.self) }
        var monitored: [String: MonitoredVersion] = [live.deployment.version: liveVersion]
        for version in served where monitored[version] == nil {
            if let loaded = try await self.version(version) { monitored[version] = loaded }
        }
        let ordered = monitored.sorted { $0.key < $1.key }
        let database = database
        let counted = try await database.transaction { [since] connection -> WindowCounts? in
            // One snapshot: the rollups and the raw rows beside them agree (see RollupCoverage).
            try connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            if takeTurn {
                let turn = try connection.query("SELECT pg_try_advisory_xact_lock(\(Self.lockKey)) AS mine")
                guard try turn.first?.decode("mine", as: Bool.self) == true else { return nil }
            }
            // The aggregation hashes a row per bin and category: room enough not to spill to disk.
            try connection.execute("SET LOCAL work_mem = '64MB'")
            // Parsing each logged request's JSON is the cost: let Postgres's workers share it
            // (the planner underrates the row count behind the JSON filter and would not).
            try connection.execute("SET LOCAL parallel_setup_cost = 0")
            try connection.execute("SET LOCAL parallel_tuple_cost = 0")
            let coverage = try RollupCoverage.read(connection)
            let (sealed, raw) = coverage.split(since: since, end: end)
            var bins = try sealed.map { try RollupCoverage.sealedCounts(connection, $0) } ?? []
            let query = BinsQuery(versions: ordered.map(\.value), ranges: raw)
            bins += try query.counts(try connection.query(query.query))
            let labelled = try connection.query(MonitoringQueries.liveMetrics(since: since, until: end))
            let labels = try connection.query(
                MonitoringQueries.labels(versions: ordered.map(\.value), since: since, until: end))
            return WindowCounts(bins: bins, labelled: Array(labelled), labels: Array(labels))
        }
        guard let counted else { return [] }
        let (bins, labelled, labels) = (counted.bins, counted.labelled, counted.labels)
        if bins.isEmpty && labelled.isEmpty && takeTurn { return [] }
        let elapsed = (ContinuousClock.now - start).inSeconds * 1000
        var reports: [MonitoringReport] = []
        for (version, model) in ordered {
            let report = try ReportBuilder(
                model: model, window: window, start: since, end: end, elapsed: elapsed
            ).build(
                bins: bins.filter { $0.version == version },
                labelled: labelled.filter { (try? $0.decode("model_version", as: String.self)) == version },
                labels: labels.filter { (try? $0.decode("version", as: String.self)) == version })
            guard report.rows > 0 || version == live.deployment.version else { continue }
            reports.append(try await save(report))
        }
        return reports
    }

    /// The newest stored report of each version that has one (only `model`'s versions, when
    /// given), live versions first.
    func latest(model: String? = nil) async throws -> [MonitoringReport] {
        var reports = try await MonitoringStore(database: database).latest()
        if let model {
            let versions = Set(
                try await database.query("SELECT version FROM model_versions WHERE model_name = \(model)").map {
                    try $0.decode("version", as: String.self)
                })
            reports = reports.filter { versions.contains($0.modelVersion) }
        }
        let live = Set(store.models.map(\.deployment.version))
        return reports.sorted {
            (live.contains($0.modelVersion) ? 0 : 1, $0.modelVersion)
                < (live.contains($1.modelVersion) ? 0 : 1, $1.modelVersion)
        }
    }

    private func save(_ report: MonitoringReport) async throws -> MonitoringReport {
        try await MonitoringStore(database: database).save(report)
    }

    /// The live version's, or an earlier version's, artifact and settings,
    /// made once per version (an artifact never changes): feedback asks for
    /// them per item.
    func version(_ version: String) async throws -> MonitoredVersion? {
        if let cached = versions.withLock({ $0[version] }) { return cached }
        if let live = store.models.first(where: { $0.deployment.version == version }) {
            let loaded = MonitoredVersion(
                artifact: live.artifact,
                manifestYAML: ArtifactStore.manifestYAML(root: artifacts.local, path: live.deployment.artifactPath))
            versions.withLock { $0[version] = loaded }
            return loaded
        }
        return try await load(version)
    }

    /// A version's artifact and manifest from the artifact store, cached.
    private func load(_ version: String) async throws -> MonitoredVersion? {
        let rows = try await database.query(
            "SELECT artifact_path, artifact_sha256 FROM model_versions WHERE version = \(version)")
        guard let row = rows.first else { return nil }
        let path: String = try row.decode("artifact_path")
        let sha: String = try row.decode("artifact_sha256")
        guard let directory = try? await artifacts.directory(path),
            let artifact = try? ArtifactStore.load(from: directory, expectedSHA256: sha)
        else {
            logger.warning("cannot load an earlier version for monitoring", metadata: ["version": "\(version)"])
            return nil
        }
        let loaded = MonitoredVersion(
            artifact: artifact, manifestYAML: ArtifactStore.manifestYAML(root: artifacts.local, path: path))
        versions.withLock { $0[version] = loaded }
        return loaded
    }
}
