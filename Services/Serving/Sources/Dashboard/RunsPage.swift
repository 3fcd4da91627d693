import Foundation
import Learning
import Registry

/// `GET /runs` for browsers: every training run, newest first, filterable by status.
struct RunsPage {
    struct Filter {
        let href: String
        let label: String
        let active: Bool
    }

    let runs: [TimelineEntry]
    let filters: [Filter]
    let status: String?
    let nextBefore: Int64?

    static let statuses = RunStatus.allCases.map(\.rawValue)

    static let template = """
        {{> head}}
        {{#page}}
        <h1>Training runs{{#status}} · {{.}}{{/status}}</h1>
        <p id="filters">{{#filters}}<a href="{{href}}" class="{{#active}}state state-live{{/active}}">{{label}}</a> {{/filters}}</p>
        <table id="runs"><tr><th>run</th><th>pull request</th><th>state</th><th>why</th><th>duration</th><th>stages</th><th>queued</th></tr>
        {{#runs}}<tr class="run" data-run="{{runID}}" data-state="{{state}}"><td><a href="{{href}}">{{runID}}</a></td>
        <td>#{{prNumber}} <span class="pr-title">{{prTitle}}</span></td><td><span class="state {{stateClass}}">{{state}}</span></td>
        <td class="small">{{reason}}</td><td class="num">{{duration}}</td><td class="small muted">{{stages}}</td><td class="small muted">{{created}}</td></tr>{{/runs}}
        </table>
        {{#nextBefore}}<p><a href="/runs?before={{.}}{{#status}}&amp;status={{.}}{{/status}}" id="older">older runs</a></p>{{/nextBefore}}
        {{/page}}
        {{> foot}}
        """
}
