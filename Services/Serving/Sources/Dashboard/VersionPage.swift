import Foundation
import Learning

/// `GET /versions/{version}`: everything recorded about a deployed version.
struct VersionPage {
    let version: String
    let modelName: String
    let state: String
    let stateClass: String
    let markedBadReason: String?
    let pullRequest: PullRequestReference
    let created: String
    let dataSHA256: String
    let dataRows: String
    /// Data fetched outside git by the run that trained it.
    let dataFiles: [DataFileRow]
    let hasDataFiles: Bool
    let params: [VersionDetails.Pair]
    let metrics: [VersionDetails.Pair]
    let gates: [VersionDetails.Gate]
    let features: [VersionDetails.Feature]
    let heatMap: VersionDetails.HeatMap?
    /// Each input's mean |contribution| on the test split (models that explain themselves).
    let importance: [VersionDetails.Importance]
    /// Stored: the templates read properties by reflection, which sees no computed ones.
    let hasImportance: Bool
    let timings: [VersionDetails.Pair]
    let log: String
    let runID: Int64?
    let deployments: [HomePage.DeploymentLine]
    let artifactMissing: Bool

    static func build(
        _ version: DashboardStore.Version, store: DashboardStore, artifacts: VersionArtifacts, liveVersion: String?,
        links: GitHubLinks
    ) async throws -> VersionPage {
        async let run = version.runID.asyncMap { try await store.run(id: $0) }
        async let deployments = store.deployments(limit: 50, version: version.version)
        let artifact = await artifacts.artifact(
            version: version.version, path: version.artifactPath, sha256: version.artifactSHA256)
        let record = try await run ?? nil
        let state =
            version.markedBadReason != nil ? "rolled back" : version.version == liveVersion ? "live" : "deployed"
        return VersionPage(
            version: version.version, modelName: version.modelName, state: state,
            stateClass: DashboardFormat.stateClass(state),
            markedBadReason: version.markedBadReason,
            pullRequest: PullRequestReference(
                number: version.prNumber, title: version.prTitle, author: version.prAuthor, commit: version.commit,
                links: links), created: DashboardFormat.date(version.createdAt),
            dataSHA256: version.dataSHA256 ?? "–", dataRows: version.dataRows.map(String.init) ?? "–",
            dataFiles: record?.dataFiles ?? [], hasDataFiles: !(record?.dataFiles ?? []).isEmpty,
            params: VersionDetails.flatten(version.params),
            metrics: version.metrics.sorted { $0.key < $1.key }.map {
                VersionDetails.Pair(name: $0.key, value: DashboardFormat.number($0.value))
            }, gates: VersionDetails.gates(version.gates), features: artifact.map(VersionDetails.features) ?? [],
            heatMap: VersionDetails.heatMap(artifact), importance: VersionDetails.importance(artifact),
            hasImportance: !VersionDetails.importance(artifact).isEmpty,
            timings: (record?.timings ?? [:]).sorted { $0.key < $1.key }.map {
                VersionDetails.Pair(name: $0.key, value: DashboardFormat.seconds($0.value))
            }, log: record?.log ?? "", runID: version.runID,
            deployments: try await deployments.map(HomePage.DeploymentLine.init), artifactMissing: artifact == nil)
    }

    static let template = """
        {{> head}}
        {{#page}}
        <h1>{{modelName}} <code id="version">{{version}}</code> <span class="state {{stateClass}}">{{state}}</span></h1>
        {{#markedBadReason}}<p class="worse">{{.}}</p>{{/markedBadReason}}
        <p>{{#pullRequest}}{{> pullRequest}}{{/pullRequest}} · trained {{created}}{{#runID}} · <a href="/runs/{{.}}">run {{.}}</a>{{/runID}}</p>
        <p class="small">Data sha256 <code>{{dataSHA256}}</code> · {{dataRows}} rows</p>
        {{#hasDataFiles}}\(RunPage.dataTemplate){{/hasDataFiles}}
        <div class="cards">
        <div class="card"><h2>Metrics</h2><table id="metrics">{{#metrics}}<tr><td>{{name}}</td><td class="num">{{value}}</td></tr>{{/metrics}}</table></div>
        <div class="card"><h2>Parameters</h2><table id="params">{{#params}}<tr><td><code>{{name}}</code></td><td>{{value}}</td></tr>{{/params}}</table></div>
        <div class="card"><h2>Stage timings</h2><table>{{#timings}}<tr><td>{{name}}</td><td class="num">{{value}}</td></tr>{{/timings}}</table></div>
        </div>
        <h2>Gates</h2>
        <table id="gates"><tr><th>gate</th><th>metric</th><th>value</th><th>bound</th><th></th><th>detail</th></tr>
        {{#gates}}<tr><td>{{gate}}</td><td>{{metric}}</td><td class="num">{{value}}</td><td class="num">{{threshold}}</td>
        <td><span class="state {{stateClass}}">{{state}}</span></td><td class="small">{{detail}}</td></tr>{{/gates}}</table>
        {{#heatMap}}<h2>Confusion matrix (test split)</h2>{{> heatmap}}{{/heatMap}}
        {{#hasImportance}}<h2>Global importance</h2><p class="small muted">Each feature's mean |contribution| (exact Shapley values) over the test split.</p>
        <div id="importance">{{#importance}}<div class="probability importance" data-feature="{{name}}" data-value="{{raw}}"><span style="width: 12em">{{name}}</span><span class="bar" style="width: {{width}}px"></span>{{value}}</div>{{/importance}}</div>{{/hasImportance}}
        <h2>Features</h2>
        {{#artifactMissing}}<p class="worse">The artifact cannot be read from the artifacts volume.</p>{{/artifactMissing}}
        {{> features}}
        <h2>Deployments of this version</h2>
        <table>{{#deployments}}<tr><td>{{id}}</td><td>{{kind}}</td><td class="small">{{reason}}</td><td class="small muted">{{when}}</td></tr>{{/deployments}}</table>
        <h2>Run log</h2><pre id="log">{{log}}</pre>
        {{/page}}
        {{> foot}}
        """
}
