import Foundation
import Mustache
import Registry

/// The pull request and commit a version came from, with their GitHub links
/// (the `pullRequest` partial draws it).
struct PullRequestReference: Sendable {
    let number: Int64
    let title: String
    let author: String
    let url: String?
    let commit: String
    let commitURL: String?

    init(number: Int64, title: String?, author: String?, commit: String, links: GitHubLinks) {
        self.number = number
        self.title = title ?? ""
        self.author = author ?? ""
        url = links.pullRequest(number)
        self.commit = commit
        commitURL = links.commit(commit)
    }

    /// The `pullRequest` partial.
    static let template = """
        Pull request {{#url}}<a href="{{url}}">#{{number}}</a>{{/url}}{{^url}}#{{number}}{{/url}}
        <span class="pr-title">{{title}}</span> by {{author}} at commit
        {{#commitURL}}<a href="{{commitURL}}"><code>{{commit}}</code></a>{{/commitURL}}{{^commitURL}}<code>{{commit}}</code>{{/commitURL}}
        """
}
