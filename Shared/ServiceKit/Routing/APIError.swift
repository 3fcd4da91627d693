import Foundation
import Hummingbird
import JSON

/// The one error type handlers throw: a status, a message and the problems
/// by field. It is rendered as `{"error": {"status", "message", "problems"}}`;
/// nothing else formats errors.
public struct APIError: Error, HTTPResponseError, Sendable {
    public let status: HTTPResponse.Status
    public let message: String
    public let problems: [FieldProblem]
    /// Headers the answer carries besides its body (`Retry-After`, `WWW-Authenticate`).
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, _ message: String, problems: [FieldProblem] = []) {
        self.status = status
        self.message = message
        self.problems = problems
    }

    /// 422 listing every problem found.
    public static func validation(_ problems: [FieldProblem]) -> APIError {
        APIError(
            .unprocessableContent,
            problems.count == 1
                ? "\(problems[0].field): \(problems[0].problem)" : "\(problems.count) problems in the request",
            problems: problems)
    }

    private struct Body: Encodable {
        struct Detail: Encodable {
            let status: Int
            let message: String
            let problems: [FieldProblem]
        }
        let error: Detail
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let body = Body(error: .init(status: status.code, message: message, problems: problems))
        var response = try JSONResponse.make(body, status: status)
        for field in headers { response.headers.append(field) }
        return response
    }
}
