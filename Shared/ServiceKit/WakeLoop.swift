import Logging
import Postgres
import ServiceLifecycle

/// The "NOTIFY is the fast path, polling the fallback" loop the services
/// share: `onWake` runs once at start, after each notification on `channel`,
/// after each (re)connection of the listener (notifications may have been
/// missed), and every `pollInterval` seconds; wake-ups that arrive while it
/// runs collapse into one more run. Returns on graceful shutdown.
public enum WakeLoop {
    public static func run(
        databaseURL: String, channel: String, pollInterval: Double, logger: Logger,
        onWake: @escaping @Sendable () async -> Void
    ) async {
        let listener = PostgresListener(url: databaseURL, channels: [channel], logger: logger)
        let (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        listener.start()
        wake.yield()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await event in listener.events {
                    if case .notification = event {
                        logger.debug("woken by NOTIFY", metadata: ["channel": "\(channel)"])
                    }
                    wake.yield()
                }
            }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(pollInterval))
                    wake.yield()
                }
            }
            group.addTask {
                await cancelWhenGracefulShutdown {
                    for await _ in wakes {
                        if Task.isCancelled { break }
                        await onWake()
                    }
                }
                await listener.stop()
                wake.finish()
            }
            await group.next()
            group.cancelAll()
        }
    }
}
