import HTTPTypes

/// An outgoing HTTP request, sent with libcurl by `CurlHTTPClient`.
public struct CurlRequest: Sendable {
    public var method: HTTPRequest.Method
    public var url: String
    public var headers: HTTPFields
    public var body: [UInt8]?
    /// Whole-transfer timeout.
    public var timeout: Duration
    /// How many redirects to follow (0 = none).
    public var maxRedirects: Int

    public init(
        method: HTTPRequest.Method = .get, url: String, headers: HTTPFields = [:], body: [UInt8]? = nil,
        timeout: Duration = .seconds(30), maxRedirects: Int = 5
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.maxRedirects = maxRedirects
    }
}

/// A received HTTP response (the final one, after redirects).
public struct CurlResponse: Sendable {
    public var status: HTTPResponse.Status
    /// Header fields of the final response, in order.
    public var headers: HTTPFields
    public var body: [UInt8]

    public init(status: HTTPResponse.Status, headers: HTTPFields, body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first field with this name (names compare case-insensitively).
    public func header(_ name: HTTPField.Name) -> String? { headers[name] }

    /// The body as UTF-8 text.
    public var text: String { String(decoding: body, as: UTF8.self) }

    /// Throws `.status` unless the status is 2xx.
    @discardableResult
    public func expectSuccess() throws -> CurlResponse {
        guard status.kind == .successful else {
            throw CurlError.status(status.code, body: String(decoding: body.prefix(500), as: UTF8.self))
        }
        return self
    }
}

/// Why a request failed, by kind, with libcurl's explanation.
public enum CurlError: Error, CustomStringConvertible, Sendable, Equatable {
    /// DNS failure, refused or reset connection.
    case connect(String)
    /// The transfer took longer than the request's timeout.
    case timeout(String)
    /// Certificate or handshake problem (verification is always on).
    case tls(String)
    /// A non-2xx status, when the caller asked for success.
    case status(Int, body: String)
    /// The body could not be decoded as expected.
    case decode(String)
    /// More redirects than allowed.
    case tooManyRedirects(String)
    /// The response's body is larger than the caller's limit.
    case tooLarge(String)
    /// Any other libcurl failure.
    case transfer(code: Int, message: String)

    public var description: String {
        switch self {
        case .connect(let message): "connection failed: \(message)"
        case .timeout(let message): "timed out: \(message)"
        case .tls(let message): "TLS error: \(message)"
        case .status(let status, let body): "HTTP \(status): \(body)"
        case .decode(let message): "could not decode response: \(message)"
        case .tooManyRedirects(let message): "too many redirects: \(message)"
        case .tooLarge(let message): "too large: \(message)"
        case .transfer(let code, let message): "transfer failed (curl \(code)): \(message)"
        }
    }

    /// Whether retrying the same request later may succeed.
    public var isTransient: Bool {
        switch self {
        case .connect, .timeout: true
        case .status(let status, _): status >= 500 || status == 429
        case .transfer: true
        default: false
        }
    }
}
