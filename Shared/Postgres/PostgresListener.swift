import CLibPQ
import Foundation
import Logging
import Synchronization

/// Receives `NOTIFY` messages on a dedicated thread that sleeps on the
/// connection's socket (no busy polling) and reconnects by itself, with
/// backoff, after the server restarts. `PostgresClient.listen(_:)` shares one
/// per client: each subscriber gets its channel's notifications.
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

    private struct Subscriber {
        let channel: String
        let continuation: AsyncStream<Event>.Continuation
    }

    private struct Subscriptions {
        var subscribers: [Int: Subscriber] = [:]
        var nextID = 0
        /// Channels the live connection is listening on.
        var listening: Set<String> = []
        var connected = false
    }

    private let url: String
    private let logger: Logger
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let subscriptions = Mutex(Subscriptions())
    private let stopped = Atomic(false)
    private let started = Atomic(false)
    private let finished = Mutex<CheckedContinuation<Void, Never>?>(nil)
    private let done = Atomic(false)

    public init(url: String, logger: Logger) {
        self.url = url
        self.logger = logger
        var fds: [Int32] = [0, 0]
        pipe(&fds)
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }  // not inherited by child processes
        wakeRead = fds[0]
        wakeWrite = fds[1]
        // A full pipe must never block a subscriber: one pending byte is enough to wake the thread.
        _ = fcntl(wakeWrite, F_SETFL, fcntl(wakeWrite, F_GETFL) | O_NONBLOCK)
    }

    deinit {
        close(wakeRead)
        close(wakeWrite)
    }

    /// The events of `channel`, in order; starts the thread on first use and
    /// finishes after `stop()`.
    public func subscribe(_ channel: String) -> AsyncStream<Event> {
        let (stream, continuation) = AsyncStream.makeStream(of: Event.self, bufferingPolicy: .unbounded)
        let (id, alreadyConnected) = subscriptions.withLock { state in
            state.nextID += 1
            state.subscribers[state.nextID] = Subscriber(channel: channel, continuation: continuation)
            return (state.nextID, state.connected && state.listening.contains(channel))
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.subscriptions.withLock { $0.subscribers.removeValue(forKey: id) }
        }
        if stopped.load(ordering: .sequentiallyConsistent) {
            continuation.finish()
            return stream
        }
        if alreadyConnected { continuation.yield(.connected(reconnected: false)) }
        start()
        wake()  // a running thread LISTENs on the new channel
        return stream
    }

    private func wake() {
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }

    /// Starts the listening thread (once).
    public func start() {
        guard started.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged else { return }
        let thread = Thread { [self] in
            run()
            let all = subscriptions.withLock { state in
                defer { state.subscribers = [:] }
                return state.subscribers.values.map(\.continuation)
            }
            for continuation in all { continuation.finish() }
            done.store(true, ordering: .sequentiallyConsistent)
            finished.withLock { $0?.resume() }
        }
        thread.name = "postgres-listener"
        thread.start()
    }

    /// Stops the thread and finishes `events`; returns once the thread exited.
    public func stop() async {
        stopped.store(true, ordering: .sequentiallyConsistent)
        wake()
        guard started.load(ordering: .relaxed) else {
            let all = subscriptions.withLock { state in
                defer { state.subscribers = [:] }
                return state.subscribers.values.map(\.continuation)
            }
            for continuation in all { continuation.finish() }
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
                defer {
                    connection.close()
                    subscriptions.withLock { state in
                        state.connected = false
                        state.listening = []
                    }
                }
                try listenOnNewChannels(connection, reconnected: hasConnected)
                if hasConnected {
                    logger.info("listener reconnected")
                    PostgresPoolMetrics().reconnected()
                }
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
            if fds[1].revents & Int16(POLLIN) != 0 {
                var drained = [UInt8](repeating: 0, count: 64)
                _ = read(wakeRead, &drained, drained.count)
                try listenOnNewChannels(connection, reconnected: false)
            }
            let notifications = try connection.drainNotifications()
            if !notifications.isEmpty {
                let subscribers = subscriptions.withLock { Array($0.subscribers.values) }
                for notification in notifications {
                    for subscriber in subscribers where subscriber.channel == notification.channel {
                        subscriber.continuation.yield(.notification(notification))
                    }
                }
            }
            if !connection.isHealthy || fds[0].revents & Int16(POLLHUP | POLLERR) != 0 {
                throw PostgresError.connection("server closed the connection")
            }
        }
    }

    private func sleepUnlessWoken(milliseconds: Int32) {
        var fds = [pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
        if poll(&fds, 1, milliseconds) > 0 {
            var drained = [UInt8](repeating: 0, count: 64)
            _ = read(wakeRead, &drained, drained.count)
        }
    }

    /// LISTENs on every subscribed channel the connection is not listening on
    /// yet, and tells their subscribers they are connected.
    private func listenOnNewChannels(_ connection: PostgresConnection, reconnected: Bool) throws {
        let (channels, _) = subscriptions.withLock { state in
            (Set(state.subscribers.values.map(\.channel)).subtracting(state.listening), ())
        }
        for channel in channels.sorted() { try connection.listen(channel) }
        let subscribers = subscriptions.withLock { state in
            state.listening.formUnion(channels)
            state.connected = true
            return state.subscribers.values.filter { channels.contains($0.channel) }
        }
        for subscriber in subscribers { subscriber.continuation.yield(.connected(reconnected: reconnected)) }
    }
}
