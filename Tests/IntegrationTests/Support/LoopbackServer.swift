import Foundation
import Hummingbird
import Logging
import NIOCore

/// A Hummingbird server on 127.0.0.1 and a free port, for tests that need
/// something real to talk HTTP to. Cancel `task` to stop it.
struct LoopbackServer {
    let port: Int
    let task: Task<Void, Error>

    var baseURL: String { "http://127.0.0.1:\(port)" }

    static func start<Context: RequestContext>(_ router: Router<Context>) async throws -> LoopbackServer
    where Context.Source == ApplicationRequestContextSource {
        let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                portSink.yield(channel.localAddress?.port ?? 0)
                portSink.finish()
            },
            logger: Logger(label: "loopback"))
        let task = Task {
            defer { portSink.finish() }  // a server that failed to start must not leave start() waiting
            try await app.run()
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else { throw HarnessError("loopback server did not start") }
        return LoopbackServer(port: port, task: task)
    }
}
