import Foundation
import Hummingbird
import JSON

/// One thing wrong with a request, named by its field.
public struct FieldProblem: Codable, Sendable, Equatable {
    public let field: String
    public let problem: String
    public init(field: String, problem: String) {
        self.field = field
        self.problem = problem
    }
}

/// The one error type handlers throw: a status, a message and the problems
/// by field. It is rendered as `{"error": {"status", "message", "problems"}}`;
/// nothing else formats errors.
public struct APIError: Error, HTTPResponseError, Sendable {
    public let status: HTTPResponse.Status
    public let message: String
    public let problems: [FieldProblem]

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
        return try JSONResponse.make(body, status: status)
    }
}

/// The one way JSON responses are built.
public enum JSONResponse {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()

    /// Encodes `value` as a JSON response.
    public static func make(
        _ value: some Encodable, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]
    ) throws -> Response {
        raw(try encoder.encode(value), status: status, headers: headers)
    }

    /// Wraps already-encoded JSON bytes.
    public static func raw(_ data: Data, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// HTML pages and other text answers.
public enum HTMLResponse {
    /// A `text/html; charset=utf-8` response.
    public static func make(_ html: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "text/html; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: html)))
    }
}
