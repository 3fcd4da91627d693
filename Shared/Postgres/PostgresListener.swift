import CLibPQ
import Foundation
import Logging
import Synchronization

/// Receives `NOTIFY` messages on a dedicated thread that sleeps on the
/// connection's socket (no busy polling) and reconnects by itself, with
/// backoff, after the server restarts.
///
/// After every (re)connection it emits `.connected`, so consumers can catch up
/// on anything they missed while the connection was down.
public final class PostgresListener: Sendable {
    /// What the listener reports.
    public enum Event: Sendable, Equatable {
        /// Subscribed; `reconnected` is true after a lost connection came back.
        case connected(reconnected: Bool)
        /// A notification arrived.
        case notification(PostgresNotification)
    }

    /// The events, in order. Finishes after `stop()`.
    public let events: AsyncStream<Event>
    private let continuation: AsyncStream<Event>.Continuation
    private let url: String
    private let channels: [String]
    private let logger: Logger
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let stopped = Atomic(false)
    private let started = Atomic(false)
    private let finished = Mutex<CheckedContinuation<Void, Never>?>(nil)
    private let done = Atomic(false)

    public init(url: String, channels: [String], logger: Logger) {
        self.url = url
        self.channels = channels
        self.logger = logger
        (events, continuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
        var fds: [Int32] = [0, 0]
        pipe(&fds)
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }  // not inherited by child processes
        wakeRead = fds[0]
        wakeWrite = fds[1]
    }

    deinit {
        close(wakeRead)
        close(wakeWrite)
    }

    /// Starts the listening thread (once).
    public func start() {
        guard started.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged else { return }
        let thread = Thread { [self] in
            run()
            continuation.finish()
            done.store(true, ordering: .sequentiallyConsistent)
            finished.withLock { $0?.resume() }
        }
        thread.name = "postgres-listener"
        thread.start()
    }

    /// Stops the thread and finishes `events`; returns once the thread exited.
    public func stop() async {
        stopped.store(true, ordering: .sequentiallyConsistent)
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
        guard started.load(ordering: .relaxed) else {
            continuation.finish()
            return
        }
        await withCheckedContinuation { waiter in
            let alreadyDone = finished.withLock { slot in
                if done.load(ordering: .sequentiallyConsistent) { return true }
                slot = waiter
                return false
            }
            if alreadyDone { waiter.resume() }
        }
    }

    private var isStopped: Bool { stopped.load(ordering: .sequentiallyConsistent) }

    private func run() {
        var failures = 0
        var hasConnected = false
        while !isStopped {
            do {
                let connection = try PostgresConnection(url: url)
                defer { connection.close() }
                for channel in channels { try connection.listen(channel) }
                if hasConnected { logger.info("listener reconnected", metadata: ["channels": "\(channels)"]) }
                continuation.yield(.connected(reconnected: hasConnected))
                hasConnected = true
                failures = 0
                try receive(on: connection)
            } catch {
                guard !isStopped else { return }
                failures += 1
                let delay = min(5_000, 100 * (1 << min(failures, 6)))
                logger.warning(
                    "listener connection lost; retrying",
                    metadata: ["error": "\(error)", "retry_in_ms": "\(delay)"])
                sleepUnlessWoken(milliseconds: Int32(delay))
            }
        }
    }

    /// Sleeps on the socket until data, a wake-up or a 30 s liveness check.
    private func receive(on connection: PostgresConnection) throws {
        while !isStopped {
            var fds = [
                pollfd(fd: connection.socket, events: Int16(POLLIN), revents: 0),
                pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
            ]
            let ready = poll(&fds, 2, 30_000)
            if isStopped { return }
            if ready == 0 {
                try connection.execute("SELECT 1")
                continue
            }
            if ready < 0 {
                if errno == EINTR { continue }
                throw PostgresError.connection("poll failed: errno \(errno)")
            }
            for notification in try connection.drainNotifications() {
                continuation.yield(.notification(notification))
            }
            if !connection.isHealthy || fds[0].revents & Int16(POLLHUP | POLLERR) != 0 {
                throw PostgresError.connection("server closed the connection")
            }
        }
    }

    private func sleepUnlessWoken(milliseconds: Int32) {
        var fds = [pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
        _ = poll(&fds, 1, milliseconds)
    }
}
