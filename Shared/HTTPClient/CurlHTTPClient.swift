import CCurl
import DurationUnits
import Foundation
import HTTPTypes
import NIOPosix
import ServiceLifecycle

/// The project's only way to talk HTTP to the outside: libcurl, with TLS
/// verification on, bounded redirects and typed errors. Transfers block, so
/// they run on the client's own thread pool, never on an event loop. As a
/// `Service` in a service group it shuts its pool down on graceful shutdown.
public final class CurlHTTPClient: Service, Sendable {
    private let threads: NIOThreadPool

    /// Creates a client whose transfers run on `concurrency` threads.
    public init(concurrency: Int = 2) {
        _ = CurlGlobal.initialized
        threads = NIOThreadPool(numberOfThreads: max(1, concurrency))
        threads.start()
    }

    /// Sends the request and returns the final response, whatever its status.
    public func send(_ request: CurlRequest) async throws -> CurlResponse {
        try await run { try CurlTransfer.perform(request) }
    }

    /// Runs a blocking libcurl job on the client's threads.
    func run<T: Sendable>(_ job: @escaping @Sendable () throws -> T) async throws -> T {
        try await threads.runIfActive(job)
    }

    /// Waits for graceful shutdown (or cancellation), then shuts the client down.
    public func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }

    /// Stops the thread pool after in-flight transfers finish.
    public func shutdown() async {
        try? await threads.shutdownGracefully()
    }
}
