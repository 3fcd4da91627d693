import Foundation
import Learning

/// `GET /runs/{id}` for browsers: a run's outcome, reason, gates and log
/// (rejected and failed runs have no version page).
struct RunPage {
    let run: TimelineEntry
    let metrics: [VersionDetails.Pair]
    let gates: [VersionDetails.Gate]
    let log: String

    init(_ run: DashboardStore.Run, liveVersion: String?, links: GitHubLinks) {
        self.run = TimelineEntry(run, liveVersion: liveVersion, repository: links)
        metrics = run.metrics.sorted { $0.key < $1.key }.map {
            VersionDetails.Pair(name: $0.key, value: DashboardFormat.number($0.value))
        }
        gates = VersionDetails.gates(run.gates)
        log = run.log ?? ""
    }

    static let template = """
        {{> head}}
        {{#page}}{{#run}}
        <h1>Run {{runID}} <span class="state {{stateClass}}" id="run-state">{{state}}</span></h1>
        <p>Pull request {{#prURL}}<a href="{{prURL}}">#{{prNumber}}</a>{{/prURL}}{{^prURL}}#{{prNumber}}{{/prURL}}
        <span class="pr-title">{{prTitle}}</span> by {{prAuthor}} · commit <code>{{commit}}</code> · queued {{created}}
        {{#duration}} · took {{.}}{{/duration}}{{#version}} · <a href="/versions/{{.}}">version {{.}}</a>{{/version}}</p>
        <p id="reason">{{reason}}</p><p class="small muted">{{stages}}</p>
        {{/run}}
        <h2>Metrics</h2><table>{{#metrics}}<tr><td>{{name}}</td><td class="num">{{value}}</td></tr>{{/metrics}}</table>
        <h2>Gates</h2>
        <table id="gates">{{#gates}}<tr><td>{{gate}}</td><td class="num">{{value}}</td><td class="num">{{threshold}}</td>
        <td><span class="state {{stateClass}}">{{state}}</span></td><td class="small">{{detail}}</td></tr>{{/gates}}</table>
        <h2>Log</h2><pre id="log">{{log}}</pre>
        {{/page}}
        {{> foot}}
        """
}
