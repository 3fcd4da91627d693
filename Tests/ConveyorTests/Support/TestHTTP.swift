import HTTPClient
import ServiceKit

/// The one way the tests talk HTTP to the processes they start.
extension CurlHTTPClient {
    /// Sends `method url` with an optional text body (POST without one sends an empty body).
    func request(
        _ method: String, _ url: String, body: String? = nil, contentType: String = "application/json",
        headers: [(name: String, value: String)] = []
    ) async throws -> HTTPClientResponse {
        try await send(
            HTTPClientRequest(
                method: method, url: url, headers: (body == nil ? [] : [("Content-Type", contentType)]) + headers,
                body: body.map { Array($0.utf8) } ?? (method == "POST" ? [] : nil), timeout: 60))
    }

    /// `request` with the answer parsed as JSON (null when it is not JSON).
    func json(
        _ method: String, _ url: String, body: String? = nil, contentType: String = "application/json",
        headers: [(name: String, value: String)] = []
    ) async throws -> (Int, JSONValue) {
        let response = try await request(method, url, body: body, contentType: contentType, headers: headers)
        return (response.status, (try? JSONValue.parse(response.body)) ?? .null)
    }
}

extension CurlHTTPClient {
    /// Waits until `baseURL/health/live` answers 200.
    func waitUntilLive(_ baseURL: String, timeout: Double = 60) async throws {
        _ = try await eventually(timeout: timeout, "\(baseURL) to be live") {
            try await send(HTTPClientRequest(url: "\(baseURL)/health/live", timeout: 2)).status == 200 ? true : nil
        }
    }
}
