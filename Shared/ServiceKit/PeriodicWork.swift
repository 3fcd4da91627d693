import Logging
import ServiceLifecycle

/// A service's "every interval, do this" loop: `work` runs after each
/// `interval` until graceful shutdown, which also cancels a pass in progress
/// rather than waiting out the interval. A failed pass is logged and the loop
/// goes on. A zero interval turns the work off (the service then just waits
/// for shutdown, like the others).
public enum PeriodicWork {
    public static func run(
        every interval: Duration, logger: Logger, failure: Logger.Message,
        _ work: @escaping @Sendable () async throws -> Void
    ) async {
        guard interval > .zero else {
            try? await gracefulShutdown()
            return
        }
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                do {
                    try await work()
                } catch is CancellationError {
                    return
                } catch {
                    logger.warning(failure, metadata: ["error": "\(error)"])
                }
            }
        }
    }
}
