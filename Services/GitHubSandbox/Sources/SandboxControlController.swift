import Foundation
import Hummingbird
import JSON
import ServiceKit

/// `/_sandbox/…`: what tests and demos switch on — generated pull requests,
/// raw pull requests, queued faults, a primary rate limit — and the counts
/// that show how a client behaved.
struct SandboxControlController: APIController {
    let control: SandboxControl
    let extra: SandboxPulls
    let repository: String

    var endpoints: DocumentedRoutes {
        let routes = DocumentedRoutes()
        let (control, extra, repository) = (control, extra, repository)
        routes.on(APIRoute(.post, "/_sandbox/pulls/generate", "Add {\"count\": N} generated pull requests.")) {
            request, _ in
            let body = try await Self.json(request)
            guard let count = body["count"]?.integerValue, count > 0, count <= 100_000 else {
                throw APIError.validation([FieldProblem(field: "count", problem: "must be 1 to 100000")])
            }
            let first = body["first"]?.integerValue ?? 10_000
            extra.generate(count: Int(count), first: first, repository: repository)
            return try JSONResponse.make(["generated": count], status: .created)
        }
        routes.on(APIRoute(.put, "/_sandbox/pulls/:number", "Store a raw pull request object (any shape).")) {
            request, context in
            guard let number = context.parameters.get("number").flatMap({ Int64($0) }) else {
                throw APIError.validation([FieldProblem(field: "number", problem: "must be an integer")])
            }
            extra.put(number: number, pull: try await Self.json(request))
            return try JSONResponse.make(["stored": number])
        }
        routes.on(APIRoute(.post, "/_sandbox/faults", "Queue faults for the next list requests.")) { request, _ in
            let body = try await Self.json(request)
            var faults: [SandboxFault] = []
            for (index, item) in (body["faults"]?.arrayValue ?? []).enumerated() {
                let repeats = Int(item["count"]?.integerValue ?? 1)
                let fault: SandboxFault
                switch item["kind"]?.stringValue {
                case "status": fault = .status(Int(item["status"]?.integerValue ?? 502))
                case "malformed": fault = .malformed
                case "truncated": fault = .truncated
                case "html": fault = .html
                case "slow": fault = .slow(milliseconds: Int(item["ms"]?.integerValue ?? 1000))
                case "secondary_rate_limit":
                    fault = .secondaryRateLimit(retryAfter: Int(item["retry_after"]?.integerValue ?? 1))
                default:
                    throw APIError.validation([
                        FieldProblem(
                            field: "faults[\(index)].kind",
                            problem: "must be status, malformed, truncated, html, slow or secondary_rate_limit")
                    ])
                }
                faults += Array(repeating: fault, count: max(1, repeats))
            }
            control.queue(faults, after: Int(body["after"]?.integerValue ?? 0))
            return try JSONResponse.make(["queued": faults.count])
        }
        routes.on(
            APIRoute(
                .post, "/_sandbox/rate_limit", "Set {\"limit\": N, \"window_seconds\": S} or {\"limit\": null}.")
        ) { request, _ in
            let body = try await Self.json(request)
            let limit = body["limit"]?.integerValue.map { Int($0) }
            control.setRateLimit(limit, window: body["window_seconds"]?.doubleValue ?? 60)
            return try JSONResponse.make(["limit": limit ?? -1])
        }
        routes.on(APIRoute(.get, "/_sandbox/requests", "Request, 304, rate-limit and fault counts.")) { _, _ in
            try JSONResponse.make(control.counts)
        }
        routes.on(APIRoute(.post, "/_sandbox/reset", "Clear faults, limits, counts and extra pull requests.")) { _, _ in
            control.reset()
            extra.removeAll()
            return try JSONResponse.make(["reset": true])
        }
        return routes
    }

    private static func json(_ request: Request) async throws -> JSONValue {
        let body = try await request.body.collect(upTo: 16 << 20)
        do {
            return try JSONValue.parse(body.readableBytesView)
        } catch {
            throw APIError(.badRequest, "the body is not valid JSON")
        }
    }
}
