import Crypto
import Foundation
import GitHub
import HTTPClient
import HTTPTypes
import Hummingbird
import JSON
import ServiceKit

/// `GET /repos/{owner}/{repo}/pulls` in GitHub's shape: pagination with
/// `Link`, `ETag`/304, rate-limit headers, and the queued faults.
struct SandboxPullsController: APIController {
    let pulls: GitPullRequests
    let fullName: String
    let control: SandboxControl
    let extra: SandboxPulls

    var endpoints: DocumentedRoutes {
        DocumentedRoutes().on(
            APIRoute(.get, "/repos/:owner/:repo/pulls", "Pull requests in GitHub's shape, paginated.")
        ) { request, context in try await list(request, context: context) }
    }

    func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        let owner = try context.parameters.require("owner")
        let repo = try context.parameters.require("repo")
        guard "\(owner)/\(repo)" == fullName else {
            return try JSONResponse.make(["message": "Not Found"], status: .notFound)
        }
        let fault = control.nextFault()
        if let failure = Self.faultResponse(fault) { return failure }
        let query = request.uri.queryParameters
        let perPage = min(100, max(1, Int(query["per_page"].map(String.init) ?? "") ?? 30))
        let page = max(1, Int(query["page"].map(String.init) ?? "") ?? 1)
        let descending = (query["direction"].map(String.init) ?? "desc") == "desc"
        let sortKey = (query["sort"].map(String.init) ?? "created") == "updated" ? "updated_at" : "created_at"
        let all =
            try await pulls.list().map { try JSONValue.parse(JSONSerialization.data(withJSONObject: $0)) }
            + extra.all.values
        // Sort keys are read once per pull request, not once per comparison.
        var keyed = all.map { ($0[sortKey]?.stringValue ?? "", $0["number"]?.doubleValue ?? 0, $0) }
        keyed.sort { ($0.0, $0.1) < ($1.0, $1.1) }
        if descending { keyed.reverse() }
        let lastPage = max(1, (all.count + perPage - 1) / perPage)
        let slice = keyed.dropFirst((page - 1) * perPage).prefix(perPage).map(\.2)
        var body = try Self.encoder.encode(slice)
        let etag = "W/\"" + SHA256.hash(data: body).map { String(format: "%02x", $0) }.joined() + "\""
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        headers[.eTag] = etag
        if request.headers[.ifNoneMatch] == etag {
            control.countNotModified()
            Self.add(control.rateLimit(consume: false).headers, to: &headers)
            return Response(status: .notModified, headers: headers)
        }
        let (limitHeaders, exceeded) = control.rateLimit(consume: true)
        Self.add(limitHeaders, to: &headers)
        if exceeded {
            return Response(
                status: .forbidden, headers: headers,
                body: .init(
                    byteBuffer: ByteBuffer(
                        string:
                            #"{"message": "API rate limit exceeded for 127.0.0.1.", "documentation_url": "https://docs.github.com/rest/rate-limit"}"#
                    )))
        }
        if fault == .malformed { body = Data("<<this is not JSON>> [{\"id\": ".utf8) }
        if fault == .truncated { body = body.prefix(max(1, body.count / 2)) }
        if let link = Self.linkHeader(request: request, page: page, lastPage: lastPage, owner: owner, repo: repo) {
            headers[.link] = link
        }
        // A slow answer is slow on the wire: the page was made before the wait, so a
        // change during the wait is not in it (as with a slow GitHub response).
        if case .slow(let milliseconds) = fault { try await control.delay(milliseconds: milliseconds) }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    private static func add(_ pairs: [(String, String)], to headers: inout HTTPFields) {
        for (name, value) in pairs { headers[HTTPField.Name(name)!] = value }
    }

    /// The response a fault replaces the real answer with, if it does.
    static func faultResponse(_ fault: SandboxFault?) -> Response? {
        switch fault {
        case .status(let code):
            return Response(
                status: HTTPResponse.Status(code: code), headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: #"{"message": "Server Error"}"#)))
        case .html:
            return Response(
                status: .badGateway, headers: [.contentType: "text/html"],
                body: .init(
                    byteBuffer: ByteBuffer(
                        string: "<html><head><title>502 Bad Gateway</title></head><body><h1>Unicorn!</h1></body></html>"
                    )))
        case .secondaryRateLimit(let retryAfter):
            return Response(
                status: .forbidden,
                headers: [.contentType: "application/json", .retryAfter: String(retryAfter)],
                body: .init(
                    byteBuffer: ByteBuffer(string: #"{"message": "You have exceeded a secondary rate limit."}"#)))
        default:
            return nil
        }
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
