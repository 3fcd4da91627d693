import HTTPClient
import HTTPTypes
import JSON

/// The one way the tests talk HTTP to the processes they start.
extension CurlHTTPClient {
    /// Sends `method url` with an optional text body (POST without one sends an empty body).
    func request(
        _ method: String, _ url: String, body: String? = nil, contentType: String = "application/json",
        headers: [(name: String, value: String)] = []
    ) async throws -> CurlResponse {
        var fields = HTTPFields()
        if body != nil { fields[.contentType] = contentType }
        for (name, value) in headers { fields.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
        return try await send(
            CurlRequest(
                method: HTTPRequest.Method(method)!, url: url, headers: fields,
                body: body.map { Array($0.utf8) } ?? (method == "POST" ? [] : nil), timeout: .seconds(60)))
    }

    /// `request` with the answer parsed as JSON (null when it is not JSON).
    func json(
        _ method: String, _ url: String, body: String? = nil, contentType: String = "application/json",
        headers: [(name: String, value: String)] = []
    ) async throws -> (Int, JSONValue) {
        let response = try await request(method, url, body: body, contentType: contentType, headers: headers)
        return (response.status.code, (try? JSONValue.parse(response.body)) ?? .null)
    }
}

extension CurlHTTPClient {
    /// Waits until `baseURL/health/live` answers 200.
    func waitUntilLive(_ baseURL: String, timeout: Double = 60) async throws {
        _ = try await eventually(timeout: timeout, "\(baseURL) to be live") {
            try await send(CurlRequest(url: "\(baseURL)/health/live", timeout: .seconds(2))).status == .ok ? true : nil
        }
    }
}

extension CurlResponse {
    /// The first header field named `name` (any case).
    func header(_ name: String) -> String? {
        HTTPField.Name(name).flatMap { headers[$0] }
    }
}
