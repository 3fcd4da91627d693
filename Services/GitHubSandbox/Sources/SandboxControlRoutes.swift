import Foundation
import Hummingbird
import ServiceKit

/// `/_sandbox/…`: what tests and demos switch on — generated pull requests,
/// raw pull requests, queued faults, a primary rate limit — and the counts
/// that show how a client behaved.
enum SandboxControlRoutes {
    static func add(
        to router: Router<BasicRequestContext>, control: SandboxControl, extra: SandboxPulls, repository: String
    ) {
        router.post("/_sandbox/pulls/generate") { request, _ -> Response in
            let body = try await json(request)
            guard let count = body["count"]?.integerValue, count > 0, count <= 100_000 else {
                throw APIError.validation([FieldProblem(field: "count", problem: "must be 1 to 100000")])
            }
            let first = body["first"]?.integerValue ?? 10_000
            extra.generate(count: Int(count), first: first, repository: repository)
            return try JSONResponse.make(["generated": count], status: .created)
        }
        router.put("/_sandbox/pulls/:number") { request, context -> Response in
            guard let number = context.parameters.get("number").flatMap({ Int64($0) }) else {
                throw APIError.validation([FieldProblem(field: "number", problem: "must be an integer")])
            }
            extra.put(number: number, pull: try await json(request))
            return try JSONResponse.make(["stored": number])
        }
        router.post("/_sandbox/faults") { request, _ -> Response in
            let body = try await json(request)
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
        router.post("/_sandbox/rate_limit") { request, _ -> Response in
            let body = try await json(request)
            let limit = body["limit"]?.integerValue.map { Int($0) }
            control.setRateLimit(limit, window: body["window_seconds"]?.doubleValue ?? 60)
            return try JSONResponse.make(["limit": limit ?? -1])
        }
        router.get("/_sandbox/requests") { _, _ in try JSONResponse.make(control.counts) }
        router.post("/_sandbox/reset") { _, _ -> Response in
            control.reset()
            extra.removeAll()
            return try JSONResponse.make(["reset": true])
        }
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
