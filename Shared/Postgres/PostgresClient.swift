import Logging
import NIOPosix
import ServiceLifecycle
import Synchronization

/// A small pool of libpq connections whose blocking calls run on a dedicated
/// thread pool, so callers can `await` them from any task (including request
/// handlers) without ever blocking an event loop, and one shared `LISTEN`
/// connection. Like postgres-nio's client it is a `Service`: put it first in
/// a `ServiceGroup` and its `run()` closes everything on graceful shutdown,
/// after the services that use it have stopped.
public final class PostgresClient: Service, Sendable {
    /// The connection string, as given (may contain a password: never log it).
    let url: String
    private let maxConnections: Int
    private let threads: NIOThreadPool
    private let state = Mutex(PoolState())
    private let gauges = PostgresPoolMetrics()
    private let listener: PostgresListener

    private struct PoolState {
        var idle: [PostgresConnection] = []
        var open = 0
        var waiters: [(id: Int, continuation: CheckedContinuation<PostgresConnection?, Error>)] = []
        var nextWaiter = 0
        var isShutdown = false
    }

    /// Creates a pool; connections open lazily on first use.
    public init(url: String, maxConnections: Int = 4, logger: Logger = Logger(label: "postgres")) {
        self.url = url
        self.maxConnections = max(1, maxConnections)
        self.threads = NIOThreadPool(numberOfThreads: self.maxConnections)
        self.listener = PostgresListener(url: url, logger: logger)
        threads.start()
    }

    /// Waits for graceful shutdown (or cancellation), then shuts the client down.
    public func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }

    /// Notifications on `channel` from the client's one shared `LISTEN`
    /// connection, which reconnects by itself; after each (re)connection a
    /// `.connected` event says notifications may have been missed.
    public func listen(_ channel: String) -> AsyncStream<PostgresListener.Event> {
        listener.subscribe(channel)
    }

    /// Runs `body` with a connection of its own on the pool's threads.
    @discardableResult
    public func withConnection<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) throws -> T
    ) async throws -> T {
        let connection = try await acquire()
        do {
            let value = try await threads.runIfActive { try body(connection) }
            release(connection)
            return value
        } catch {
            release(connection)
            throw error
        }
    }

    /// Runs one parameterized statement.
    @discardableResult
    public func query(_ query: PostgresQuery) async throws -> PostgresRows {
        try await withConnection { try $0.query(query) }
    }

    /// Runs `body` in a transaction on one connection; it rolls back if `body` throws.
    @discardableResult
    public func transaction<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) throws -> T
    ) async throws -> T {
        try await withConnection { connection in try connection.transaction(body) }
    }

    /// Sends `NOTIFY channel, payload`.
    public func notify(_ channel: String, payload: String = "") async throws {
        try await withConnection { try $0.notify(channel, payload: payload) }
    }

    /// Closes idle connections, the listener and fails waiters; in-flight calls finish first.
    public func shutdown() async {
        let (idle, waiters) = pool { state in
            state.isShutdown = true
            defer {
                state.idle = []
                state.waiters = []
            }
            return (state.idle, state.waiters)
        }
        for connection in idle { connection.close() }
        for waiter in waiters { waiter.continuation.resume(throwing: PostgresError.shutdown) }
        await listener.stop()
        try? await threads.shutdownGracefully()
    }

    /// Changes the pool's state under its lock, then publishes the pool gauges.
    private func pool<T>(_ body: (inout PoolState) throws -> T) rethrows -> T {
        let (value, inUse, waiting) = try state.withLock { state in
            let value = try body(&state)
            return (value, state.open - state.idle.count, state.waiters.count)
        }
        gauges.publish(inUse: inUse, waiting: waiting)
        return value
    }

    // MARK: - Checkout

    private enum Checkout {
        case reuse(PostgresConnection)
        case create
        case wait
        case shutdown
    }

    private func acquire() async throws -> PostgresConnection {
        while true {
            try Task.checkCancellation()
            let decision: Checkout = pool { state in
                if state.isShutdown { return .shutdown }
                if let connection = state.idle.popLast() { return .reuse(connection) }
                if state.open < maxConnections {
                    state.open += 1
                    return .create
                }
                return .wait
            }
            switch decision {
            case .reuse(let connection):
                // A server restart leaves idle connections dead: drop them here
                // rather than fail the caller's statement.
                if connection.isUsableWhenIdle { return connection }
                gauges.reconnected()
                connection.close()
                freeSlot()
            case .create: return try await openConnection()
            case .shutdown: throw PostgresError.shutdown
            case .wait:
                // nil means a slot was freed by a broken connection: open a new one.
                if let handedOver = try await waitForConnection() { return handedOver }
                return try await openConnection()
            }
        }
    }

    /// Waits for a released connection; cancelling the task stops the wait.
    private func waitForConnection() async throws -> PostgresConnection? {
        let id = pool { state in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let failure: Error? = pool { state in
                    if state.isShutdown { return PostgresError.shutdown }
                    if Task.isCancelled { return CancellationError() }
                    state.waiters.append((id, continuation))
                    return nil
                }
                if let failure { continuation.resume(throwing: failure) }
            }
        } onCancel: {
            let waiter = pool { state in
                state.waiters.firstIndex { $0.id == id }.map { state.waiters.remove(at: $0) }
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }

    private func openConnection() async throws -> PostgresConnection {
        let url = url
        do {
            return try await threads.runIfActive { try PostgresConnection(url: url) }
        } catch {
            freeSlot()
            throw error
        }
    }

    private func release(_ connection: PostgresConnection) {
        guard connection.isHealthy else {
            connection.close()
            freeSlot()
            return
        }
        let waiter: CheckedContinuation<PostgresConnection?, Error>? = pool { state in
            if state.isShutdown {
                state.open -= 1
                return nil
            }
            if !state.waiters.isEmpty { return state.waiters.removeFirst().continuation }
            state.idle.append(connection)
            return nil
        }
        if let waiter {
            waiter.resume(returning: connection)
        } else if pool({ $0.isShutdown }) {
            connection.close()
        }
    }

    private func freeSlot() {
        let waiter: CheckedContinuation<PostgresConnection?, Error>? = pool { state in
            if !state.waiters.isEmpty { return state.waiters.removeFirst().continuation }
            state.open -= 1
            return nil
        }
        waiter?.resume(returning: nil)
    }
}
