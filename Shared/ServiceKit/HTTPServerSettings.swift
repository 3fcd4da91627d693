/// How a service's HTTP server accepts connections: where it binds, how long
/// a connection may sit idle or stall mid-request, and how many it holds.
public struct HTTPServerSettings: Sendable {
    /// `HOST`: the address to bind (`0.0.0.0` in containers; `127.0.0.1` for loopback only).
    public var host: String
    /// `HTTP_IDLE_TIMEOUT`: a connection with no request, or a request whose
    /// headers or body stop arriving, is closed after this long.
    public var idleTimeout: Duration
    /// `MAX_CONNECTIONS`: connections beyond this wait in the listen backlog
    /// instead of exhausting file descriptors (health checks keep answering).
    public var maxConnections: Int

    public init(host: String = "0.0.0.0", idleTimeout: Duration = .seconds(60), maxConnections: Int = 2048) {
        self.host = host
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
    }

    /// Reads `HOST`, `HTTP_IDLE_TIMEOUT` and `MAX_CONNECTIONS`.
    public static func fromEnvironment(_ env: EnvironmentReader) throws -> HTTPServerSettings {
        HTTPServerSettings(
            host: env.string("HOST") ?? "0.0.0.0",
            idleTimeout: try env.duration("HTTP_IDLE_TIMEOUT", default: .seconds(60), minimum: .milliseconds(100)),
            maxConnections: try env.int("MAX_CONNECTIONS", default: 2048, range: 1...1_000_000))
    }
}
