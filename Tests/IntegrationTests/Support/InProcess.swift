import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JSON
import NIOCore

/// Helpers for driving a service's router in-process (`app.test(.router)`),
/// with the real Postgres harness behind it.
struct RouteReply {
    let status: Int
    let headers: HTTPFields
    let body: [UInt8]

    /// The body parsed as JSON (null when it is not JSON).
    var json: JSONValue { (try? JSONValue.parse(body)) ?? .null }
    var text: String { String(decoding: body, as: UTF8.self) }

    /// `error.problems` of a Conveyor error body as field → problem.
    var problems: [String: String] {
        var found: [String: String] = [:]
        let list = json["error"]?["problems"]?.arrayValue ?? json["problems"]?.arrayValue ?? []
        for item in list {
            if let field = item["field"]?.stringValue { found[field] = item["problem"]?.stringValue ?? "" }
        }
        return found
    }

    /// The message of a Conveyor error body (`error.message`) or a v2 one (`error`).
    var message: String? { json["error"]?["message"]?.stringValue ?? json["error"]?.stringValue }
}

extension TestClientProtocol {
    /// Sends one request and collects the reply.
    func send(
        _ method: HTTPRequest.Method, _ uri: String, body: String? = nil, contentType: String = "application/json",
        headers: HTTPFields = [:]
    ) async throws -> RouteReply {
        var fields = headers
        if body != nil, fields[.contentType] == nil { fields[.contentType] = contentType }
        return try await execute(
            uri: uri, method: method, headers: fields, body: body.map { ByteBuffer(string: $0) }
        ) { response in
            RouteReply(
                status: response.status.code, headers: response.headers, body: Array(response.body.readableBytesView))
        }
    }
}
