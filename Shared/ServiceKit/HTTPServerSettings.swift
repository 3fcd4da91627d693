/// How a service's HTTP server accepts connections: where it binds, how long
/// a connection may sit idle or stall mid-request, and how many it holds.
public struct HTTPServerSettings: Sendable {
    /// `HOST`: the address to bind (`0.0.0.0` in containers; `127.0.0.1` for loopback only).
    public var host: String
    /// `HTTP_IDLE_TIMEOUT`: a connection with no request, or a request whose
    /// headers or body stop arriving, is closed after this long.
    public var idleTimeout: Duration
    /// `MAX_CONNECTIONS`: connections each listening port holds at most. At
    /// the limit the connection idle longest is closed for a new one (health
    /// checks keep answering); when every connection is busy, new ones wait in
    /// the listen backlog instead of exhausting file descriptors. The default
    /// fits `RLIMIT_NOFILE` (see `DescriptorLimit`).
    public var maxConnections: Int

    public init(
        host: String = "0.0.0.0", idleTimeout: Duration = .seconds(60),
        maxConnections: Int = DescriptorLimit.atStartup.defaultMaxConnections(listeners: 1)
    ) {
        self.host = host
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
    }

    /// Reads `HOST`, `HTTP_IDLE_TIMEOUT` and `MAX_CONNECTIONS` for a service
    /// listening on `listeners` ports; `MAX_CONNECTIONS` on every port must fit
    /// the descriptor limit, less what the service needs besides.
    public static func fromEnvironment(
        _ env: EnvironmentReader, listeners: Int = 1, descriptors: DescriptorLimit = .atStartup
    ) throws -> HTTPServerSettings {
        let fitting = max(1, (descriptors.soft - DescriptorLimit.reserved) / max(1, listeners))
        let ports = listeners == 1 ? "" : " per port × \(listeners) ports"
        let maxConnections = try env.int(
            "MAX_CONNECTIONS", default: descriptors.defaultMaxConnections(listeners: listeners), range: 1...Int.max)
        guard maxConnections <= max(fitting, descriptors.defaultMaxConnections(listeners: listeners)) else {
            throw ConfigurationError(
                variable: "MAX_CONNECTIONS",
                problem:
                    "\(maxConnections)\(ports) does not fit the file-descriptor limit \(descriptors.soft) (RLIMIT_NOFILE) with \(DescriptorLimit.reserved) kept for the rest: at most \(fitting)"
            )
        }
        return HTTPServerSettings(
            host: env.string("HOST") ?? "0.0.0.0",
            idleTimeout: try env.duration("HTTP_IDLE_TIMEOUT", default: .seconds(60), minimum: .milliseconds(100)),
            maxConnections: maxConnections)
    }
}
