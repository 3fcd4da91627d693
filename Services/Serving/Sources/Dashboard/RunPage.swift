import Foundation
import Learning

/// `GET /runs/{id}` for browsers: a run's outcome, reason, gates and log
/// (rejected and failed runs have no version page).
struct RunPage {
    let run: TimelineEntry
    let metrics: [VersionDetails.Pair]
    let gates: [VersionDetails.Gate]
    let log: String
    let dataFiles: [DataFileRow]
    let hasDataFiles: Bool
    let tests: TestSummary?

    init(_ run: DashboardStore.Run, liveVersion: String?, links: GitHubLinks) {
        self.run = TimelineEntry(run, liveVersion: liveVersion, repository: links)
        metrics = run.metrics.sorted { $0.key < $1.key }.map {
            VersionDetails.Pair(name: $0.key, value: DashboardFormat.number($0.value))
        }
        gates = VersionDetails.gates(run.gates)
        log = run.log ?? ""
        dataFiles = run.dataFiles
        hasDataFiles = !run.dataFiles.isEmpty
        tests = run.tests
    }

    /// The data fetched outside git, for the run and version pages.
    static let dataTemplate = """
        <h2>Data outside git</h2>
        <table id="data-files"><tr><th>file</th><th>from</th><th>hash</th><th class="num">size</th><th></th></tr>
        {{#dataFiles}}<tr><td>{{key}}</td><td class="small">{{origin}}</td><td><code class="small">{{hash}}</code></td>
        <td class="num">{{bytes}}</td><td class="small muted">{{fetch}}</td></tr>{{/dataFiles}}</table>
        """

    static let template = """
        {{> head}}
        {{#page}}{{#run}}
        <h1>Run {{runID}} <span class="state {{stateClass}}" id="run-state">{{state}}</span></h1>
        <p>Pull request {{#prURL}}<a href="{{prURL}}">#{{prNumber}}</a>{{/prURL}}{{^prURL}}#{{prNumber}}{{/prURL}}
        <span class="pr-title">{{prTitle}}</span> by {{prAuthor}} · commit <code>{{commit}}</code> · queued {{created}}
        {{#duration}} · took {{.}}{{/duration}}{{#version}} · <a href="/versions/{{.}}">version {{.}}</a>{{/version}}</p>
        <p id="reason">{{reason}}</p><p class="small muted">{{stages}}</p>
        {{/run}}
        {{#tests}}<h2>Repository tests <span class="state {{stateClass}}" id="tests-state">{{state}}</span></h2>
        <p id="tests-counts">{{counts}}</p>
        {{#hasFailures}}<table id="test-failures"><tr><th>failing test</th><th>message</th></tr>
        {{#failures}}<tr><td><code>{{name}}</code></td><td class="small">{{message}}</td></tr>{{/failures}}</table>{{/hasFailures}}
        {{#output}}<pre id="tests-output">{{.}}</pre>{{/output}}{{/tests}}
        {{#hasDataFiles}}\(dataTemplate){{/hasDataFiles}}
        <h2>Metrics</h2><table>{{#metrics}}<tr><td>{{name}}</td><td class="num">{{value}}</td></tr>{{/metrics}}</table>
        <h2>Gates</h2>
        <table id="gates">{{#gates}}<tr><td>{{gate}}</td><td class="num">{{value}}</td><td class="num">{{threshold}}</td>
        <td><span class="state {{stateClass}}">{{state}}</span></td><td class="small">{{detail}}</td></tr>{{/gates}}</table>
        <h2>Log</h2><pre id="log">{{log}}</pre>
        {{/page}}
        {{> foot}}
        """
}
