import GRPCNIOTransportHTTP2
import HummingbirdCore
import NIOCore
import ServiceKit

/// The HTTP port's limits applied to the gRPC listener, through the
/// transport's configuration and its channel hooks (it has no connection cap
/// of its own): `MAX_CONNECTIONS` (`ConnectionLimit`, on the listening
/// socket), `HTTP_IDLE_TIMEOUT` (GOAWAY after it with no call open, and a
/// hard close for a client that does not answer, `GRPCConnectionActivity`),
/// and `GRPC_MAX_CONCURRENT_STREAMS` advertised in SETTINGS, so clients queue
/// calls beyond it instead of having the connection reset.
struct GRPCListenerLimits: Sendable {
    let idleTimeout: Duration
    let maxConnections: Int
    let maxConcurrentStreams: Int

    /// `config` with these limits and the hooks that enforce them.
    func apply(to config: inout HTTP2ServerTransport.Posix.Config) {
        let connections = OpenConnections(limit: maxConnections)
        let idleTimeout = self.idleTimeout
        config.connection.maxIdleTime = idleTimeout
        config.http2.maxConcurrentStreams = maxConcurrentStreams
        config.channelDebuggingCallbacks.onBindTCPListener = { listener in
            listener.eventLoop.makeCompletedFuture {
                let limit = ConnectionLimit(connections: connections)
                try listener.pipeline.syncOperations.addHandler(AvailableConnectionsChannelHandler(delegate: limit))
            }
        }
        config.channelDebuggingCallbacks.onAcceptTCPConnection = { connection in
            connection.eventLoop.makeCompletedFuture {
                let activity = GRPCConnectionActivity(connections: connections, idleTimeout: idleTimeout)
                try connection.pipeline.syncOperations.addHandler(activity, position: .first)
            }
        }
        config.channelDebuggingCallbacks.onAcceptHTTP2Stream = { stream in
            if let connection = stream.parent {
                connections.began(connection)
                stream.closeFuture.whenComplete { _ in connections.ended(connection) }
            }
            return stream.eventLoop.makeSucceededVoidFuture()
        }
    }
}
