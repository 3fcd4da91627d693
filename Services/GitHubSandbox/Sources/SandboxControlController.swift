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
            let first = Int64(try Self.bounded(body["first"], "first", 0...1_000_000_000_000, default: 10_000))
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
                let field = "faults[\(index)]"
                let repeats = try Self.bounded(item["count"], "\(field).count", 1...1000, default: 1)
                let fault: SandboxFault
                switch item["kind"]?.stringValue {
                case "status":
                    fault = .status(try Self.bounded(item["status"], "\(field).status", 100...599, default: 502))
                case "malformed": fault = .malformed
                case "truncated": fault = .truncated
                case "html": fault = .html
                case "slow":
                    fault = .slow(milliseconds: try Self.bounded(item["ms"], "\(field).ms", 0...60_000, default: 1000))
                case "secondary_rate_limit":
                    fault = .secondaryRateLimit(
                        retryAfter: try Self.bounded(item["retry_after"], "\(field).retry_after", 0...3600, default: 1))
                default:
                    throw APIError.validation([
                        FieldProblem(
                            field: "faults[\(index)].kind",
                            problem: "must be status, malformed, truncated, html, slow or secondary_rate_limit")
                    ])
                }
                faults += Array(repeating: fault, count: repeats)
            }
            control.queue(faults, after: try Self.bounded(body["after"], "after", 0...1_000_000, default: 0))
            return try JSONResponse.make(["queued": faults.count])
        }
        routes.on(
            APIRoute(
                .post, "/_sandbox/rate_limit", "Set {\"limit\": N, \"window_seconds\": S} or {\"limit\": null}.")
        ) { request, _ in
            let body = try await Self.json(request)
            let limit =
                body["limit"] == nil || body["limit"] == .null
                ? nil : try Self.bounded(body["limit"], "limit", 0...1_000_000, default: 0)
            let window = try Self.bounded(body["window_seconds"], "window_seconds", 1...86_400, default: 60)
            control.setRateLimit(limit, window: Double(window))
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

    /// A whole number within `range` (422 naming `field` otherwise), or `defaultValue` when absent.
    static func bounded(_ value: JSONValue?, _ field: String, _ range: ClosedRange<Int>, default defaultValue: Int)
        throws -> Int
    {
        guard let value, value != .null else { return defaultValue }
        guard let number = value.integerValue, number >= range.lowerBound, number <= range.upperBound else {
            throw APIError.validation([
                FieldProblem(
                    field: field, problem: "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
            ])
        }
        return Int(number)
    }

    /// The request's body as JSON (400 when it is not).
    static func json(_ request: Request) async throws -> JSONValue {
        let body = try await request.collectBody(upTo: 16 << 20)
        do {
            return try JSONValue.parse(body.readableBytesView)
        } catch {
            throw APIError(.badRequest, "the body is not valid JSON")
        }
    }
}
