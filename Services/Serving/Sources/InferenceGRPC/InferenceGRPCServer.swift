import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import ServiceLifecycle

/// The gRPC endpoint (`GRPC_PORT`, plaintext HTTP/2 on `HOST`) as a
/// lifecycle service: it serves `InferenceGRPCService` until SIGTERM/SIGINT,
/// then stops taking calls and lets those in flight finish. The service
/// refuses messages over `MAX_BODY_BYTES` with `RESOURCE_EXHAUSTED`; the
/// transport itself reads none over twice that (it resets their stream, as
/// grpc-swift does, before a status could name the limit). Connections,
/// idle time and concurrent calls are bounded by `limits`.
struct InferenceGRPCServer: Service {
    let host: String
    let port: Int
    let limits: GRPCListenerLimits
    let service: InferenceGRPCService
    let logger: Logger

    func run() async throws {
        let transportLimit = 2 * service.maxMessageBytes + 64 * 1024
        let transport = HTTP2ServerTransport.Posix(
            address: .ipv4(host: host, port: port), transportSecurity: .plaintext,
            config: .defaults {
                $0.rpc.maxRequestPayloadSize = transportLimit
                limits.apply(to: &$0)
            })
        let server = GRPCServer(transport: transport, services: [service])
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await server.serve() }
                let address = try await transport.listeningAddress
                logger.info(
                    "gRPC listening",
                    metadata: [
                        "address": "\(address)", "max_connections": "\(limits.maxConnections)",
                        "max_concurrent_streams": "\(limits.maxConcurrentStreams)",
                    ])
            }
        } onGracefulShutdown: {
            server.beginGracefulShutdown()
        }
    }
}
