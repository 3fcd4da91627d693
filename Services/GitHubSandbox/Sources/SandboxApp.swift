import Foundation
import HTTPTypes
import Hummingbird
import Logging
import ServiceKit

/// Configuration of the GitHub stand-in.
public struct SandboxConfiguration: Sendable {
    public var logLevel: Logger.Level
    public var port: Int
    /// The local git repository whose merges are served as pull requests.
    public var repositoryPath: URL
    public var fullName: String
    public var baseBranch: String

    public static func fromEnvironment(_ env: EnvironmentReader = .init()) throws -> SandboxConfiguration {
        SandboxConfiguration(
            logLevel: try env.logLevel(),
            port: try env.int("PORT", default: 9090, range: 0...65535),
            repositoryPath: URL(fileURLWithPath: try env.required("SANDBOX_REPO_PATH")),
            fullName: env.string("GITHUB_REPOSITORY") ?? "conveyor/example-model",
            baseBranch: env.string("MODEL_BRANCH") ?? "main")
    }
}

/// A local stand-in for GitHub's REST API (dev and tests only).
public enum SandboxApp {
    /// Builds the router: `GET /repos/{owner}/{repo}/pulls` with `page`,
    /// `per_page`, `sort=created|updated`, `direction` and `Link` pagination.
    public static func makeRouter(configuration: SandboxConfiguration) -> Router<BasicRequestContext> {
        let router = ServiceHost.makeRouter(
            title: "Conveyor GitHub sandbox", readiness: { [] },
            routes: { [APIRoute("GET", "/repos/:owner/:repo/pulls", "Pull requests in GitHub's shape, paginated.")] })
        let pulls = GitPullRequests(
            repositoryPath: configuration.repositoryPath, baseBranch: configuration.baseBranch,
            fullName: configuration.fullName)
        router.get("/repos/:owner/:repo/pulls") { request, context -> Response in
            let owner = try context.parameters.require("owner")
            let repo = try context.parameters.require("repo")
            guard "\(owner)/\(repo)" == configuration.fullName else {
                return try JSONResponse.make(["message": "Not Found"], status: .notFound)
            }
            let query = request.uri.queryParameters
            let perPage = min(100, max(1, Int(query["per_page"].map(String.init) ?? "") ?? 30))
            let page = max(1, Int(query["page"].map(String.init) ?? "") ?? 1)
            let descending = (query["direction"].map(String.init) ?? "desc") == "desc"
            let sortKey = (query["sort"].map(String.init) ?? "created") == "updated" ? "updated_at" : "created_at"
            var all = try await pulls.list()
            all.sort {
                ($0[sortKey] as? String ?? "", $0["number"] as? Int ?? 0) < (
                    $1[sortKey] as? String ?? "", $1["number"] as? Int ?? 0
                )
            }
            if descending { all.reverse() }
            let lastPage = max(1, (all.count + perPage - 1) / perPage)
            let slice = Array(all.dropFirst((page - 1) * perPage).prefix(perPage))
            let body = try JSONSerialization.data(
                withJSONObject: slice, options: [.sortedKeys, .withoutEscapingSlashes])
            var response = JSONResponse.raw(body)
            if let link = linkHeader(request: request, page: page, lastPage: lastPage, owner: owner, repo: repo) {
                response.headers[HTTPField.Name("Link")!] = link
            }
            return response
        }
        return router
    }

    static func linkHeader(request: Request, page: Int, lastPage: Int, owner: String, repo: String) -> String? {
        guard lastPage > 1 else { return nil }
        let host = request.head.authority ?? "127.0.0.1"
        var params = request.uri.queryParameters.map { (String($0.key), String($0.value)) }.filter { $0.0 != "page" }
        params.sort { $0.0 < $1.0 }
        func url(_ target: Int) -> String {
            let query = (params + [("page", String(target))]).map { "\($0.0)=\($0.1)" }.joined(separator: "&")
            return "<http://\(host)/repos/\(owner)/\(repo)/pulls?\(query)>"
        }
        var links: [String] = []
        if page < lastPage {
            links.append("\(url(page + 1)); rel=\"next\"")
            links.append("\(url(lastPage)); rel=\"last\"")
        }
        if page > 1 {
            links.append("\(url(1)); rel=\"first\"")
            links.append("\(url(page - 1)); rel=\"prev\"")
        }
        return links.joined(separator: ", ")
    }
}
