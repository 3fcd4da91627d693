import Foundation
import Registry

/// `GET /models` for browsers: every live model, the version this replica
/// answers with, its pull request, and links to its home card, predict form
/// and JSON routes.
struct ModelsPage {
    /// One live model's row.
    struct Row {
        let name: String
        /// The name as a query value (`/?model=…`).
        let query: String
        let version: String
        let loadedVersion: String
        let loadState: String
        let loadClass: String
        let pullRequest: PullRequestReference
        let deployedAt: String
        let reason: String
    }

    let rows: [Row]
    let count: Int

    init(live: [DeploymentRecord], store: ModelStore, links: GitHubLinks) {
        rows = live.map { deployment in
            let loaded = store.model(named: deployment.modelName)?.deployment.version
            let current = loaded == deployment.version
            return Row(
                name: deployment.modelName, query: Self.queryValue(deployment.modelName), version: deployment.version,
                loadedVersion: loaded ?? "not loaded",
                loadState: current ? "serving" : (loaded == nil ? "loading or failed" : "swapping"),
                loadClass: current ? "state-live" : "state-failed",
                pullRequest: PullRequestReference(
                    number: deployment.prNumber, title: deployment.prTitle, author: deployment.prAuthor,
                    commit: deployment.commitSHA, links: links),
                deployedAt: DashboardFormat.date(deployment.deployedAt), reason: deployment.reason)
        }
        count = rows.count
    }

    /// `name` percent-encoded for a query string or a path segment.
    static func queryValue(_ name: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return name.addingPercentEncoding(withAllowedCharacters: allowed) ?? name
    }

    static let template = """
        {{> head}}
        {{#page}}
        <h1>Models · {{count}}</h1>
        <p class="muted">Each model repository's live model. This replica answers each with its loaded version;
        <code>POST /models/{name}/predict</code> asks one by name.</p>
        <table id="models"><tr><th>model</th><th>live version</th><th>this replica</th><th>pull request</th><th>deployed</th><th>why</th><th></th></tr>
        {{#rows}}<tr class="model" data-model="{{name}}"><td><a href="/?model={{query}}">{{name}}</a></td>
        <td><a href="/versions/{{version}}"><code>{{version}}</code></a></td>
        <td><span class="state {{loadClass}}">{{loadState}}</span> <code class="small">{{loadedVersion}}</code></td>
        <td>{{#pullRequest}}{{> pullRequest}}{{/pullRequest}}</td><td class="small muted">{{deployedAt}}</td>
        <td class="small">{{reason}}</td><td><a href="/predict?model={{query}}">predict</a> · <a href="/runs?model={{query}}">runs</a></td></tr>{{/rows}}
        </table>
        {{^rows}}<p>No model is deployed yet.</p>{{/rows}}
        {{/page}}
        {{> foot}}
        """
}
