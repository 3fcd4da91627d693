import Logging
import Postgres
import ServiceLifecycle

/// The "NOTIFY is the fast path, polling the fallback" loop the services
/// share: `onWake` runs once at start, after each notification on `channel`,
/// after each (re)connection of the client's listener (notifications may have
/// been missed), and every `pollInterval`; wake-ups that arrive while it runs
/// collapse into one more run. Returns on graceful shutdown.
public enum WakeLoop {
    public static func run(
        database: PostgresClient, channel: String, pollInterval: Duration, logger: Logger,
        onWake: @escaping @Sendable () async -> Void
    ) async {
        let events = database.listen(channel)
        let (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        wake.yield()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await event in events {
                    if case .notification = event {
                        logger.debug("woken by NOTIFY", metadata: ["channel": "\(channel)"])
                    }
                    wake.yield()
                }
            }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: pollInterval)
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
                wake.finish()
            }
            await group.next()
            group.cancelAll()
        }
    }
}
