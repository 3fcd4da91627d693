import Foundation
import HTTPTypes
import Hummingbird
import JSON
import ServiceKit

/// GitHub's write API for commit statuses and issue comments, as a preview
/// reporter calls it: `POST /repos/{o}/{r}/statuses/{sha}`,
/// `POST /repos/{o}/{r}/issues/{n}/comments`,
/// `PATCH /repos/{o}/{r}/issues/comments/{id}`, and the reads GitHub has for
/// them (`GET /repos/{o}/{r}/commits/{ref}/statuses`,
/// `GET /repos/{o}/{r}/issues/{n}/comments`), so tests see what was sent.
/// Queued failures (`POST /_sandbox/write_failures`) answer writes first.
struct SandboxWritesController: APIController {
    let fullName: String
    let writes: SandboxWrites

    static let states: Set = ["pending", "success", "failure", "error"]

    var endpoints: DocumentedRoutes {
        let routes = DocumentedRoutes()
        let (fullName, writes) = (fullName, writes)
        routes.on(APIRoute(.post, "/repos/:owner/:repo/statuses/:sha", "Create a commit status.")) {
            request, context in
            try Self.repository(context, fullName)
            if let failure = Self.failure(writes) { return failure }
            let body = try await SandboxControlController.json(request)
            guard let state = body["state"]?.stringValue, Self.states.contains(state) else {
                return try Self.unprocessable("state must be one of error, failure, pending, success")
            }
            if let description = body["description"]?.stringValue, description.count > 140 {
                return try Self.unprocessable("description is longer than 140 characters")
            }
            var fields: [String: JSONValue] = ["state": .string(state)]
            for key in ["description", "context", "target_url"] { fields[key] = body[key] ?? .null }
            let status = writes.addStatus(
                sha: try context.parameters.require("sha"), fields, token: Self.token(request))
            return try JSONResponse.make(status, status: .created)
        }
        routes.on(APIRoute(.get, "/repos/:owner/:repo/commits/:ref/statuses", "A commit's statuses, newest first.")) {
            _, context in
            try Self.repository(context, fullName)
            return try JSONResponse.make(writes.statuses(sha: try context.parameters.require("ref")))
        }
        routes.on(APIRoute(.post, "/repos/:owner/:repo/issues/:number/comments", "Create an issue comment.")) {
            request, context in
            try Self.repository(context, fullName)
            if let failure = Self.failure(writes) { return failure }
            guard let number = context.parameters.get("number").flatMap({ Int64($0) }) else {
                return try JSONResponse.make(["message": "Not Found"], status: .notFound)
            }
            guard let text = try await SandboxControlController.json(request)["body"]?.stringValue else {
                return try Self.unprocessable("body is required")
            }
            return try JSONResponse.make(writes.addComment(issue: number, body: text), status: .created)
        }
        routes.on(APIRoute(.patch, "/repos/:owner/:repo/issues/comments/:id", "Edit an issue comment.")) {
            request, context in
            try Self.repository(context, fullName)
            if let failure = Self.failure(writes) { return failure }
            guard let text = try await SandboxControlController.json(request)["body"]?.stringValue else {
                return try Self.unprocessable("body is required")
            }
            guard let id = context.parameters.get("id").flatMap({ Int64($0) }),
                let comment = writes.editComment(id: id, body: text)
            else { return try JSONResponse.make(["message": "Not Found"], status: .notFound) }
            return try JSONResponse.make(comment)
        }
        routes.on(APIRoute(.get, "/repos/:owner/:repo/issues/:number/comments", "An issue's comments.")) {
            _, context in
            try Self.repository(context, fullName)
            let number = context.parameters.get("number").flatMap { Int64($0) } ?? -1
            return try JSONResponse.make(writes.comments(issue: number))
        }
        routes.on(
            APIRoute(.post, "/_sandbox/write_failures", "Answer the next writes with {\"statuses\": [502, …]}.")
        ) { request, _ in
            let body = try await SandboxControlController.json(request)
            let statuses = (body["statuses"]?.arrayValue ?? []).compactMap { $0.integerValue }.map { Int($0) }
            guard !statuses.isEmpty, statuses.allSatisfy({ (400...599).contains($0) }) else {
                throw APIError.validation([
                    FieldProblem(field: "statuses", problem: "must be a non-empty array of 4xx or 5xx codes")
                ])
            }
            writes.queueFailures(statuses)
            return try JSONResponse.make(["queued": statuses.count])
        }
        routes.on(APIRoute(.get, "/_sandbox/writes", "How many write requests arrived, failed ones included.")) {
            _, _ in try JSONResponse.make(["attempts": writes.attempts])
        }
        return routes
    }

    private static func repository(_ context: AppRequestContext, _ fullName: String) throws {
        let name = "\(try context.parameters.require("owner"))/\(try context.parameters.require("repo"))"
        guard name == fullName else { throw APIError(.notFound, "Not Found") }
    }

    /// The queued failure for this write, as GitHub words one.
    private static func failure(_ writes: SandboxWrites) -> Response? {
        guard let status = writes.nextFailure() else { return nil }
        return try? JSONResponse.make(
            ["message": "Server Error (sandbox fault \(status))"], status: HTTPResponse.Status(code: status))
    }

    private static func token(_ request: Request) -> String? {
        request.headers[.authorization].map { $0.replacingOccurrences(of: "Bearer ", with: "") }
    }

    private static func unprocessable(_ message: String) throws -> Response {
        try JSONResponse.make(["message": "Validation Failed: \(message)"], status: .unprocessableContent)
    }
}
