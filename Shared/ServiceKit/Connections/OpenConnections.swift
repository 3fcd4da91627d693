import NIOCore
import Synchronization

/// The connections one listening port holds open, and which of them are idle
/// (no request or call in flight). Beyond `limit` (`MAX_CONNECTIONS`) the
/// connection idle longest is closed to make room, as nginx reuses keep-alive
/// connections, so idle sockets cannot keep a health check out; only when
/// every connection is busy do new ones wait (see `ConnectionLimit`).
public final class OpenConnections: Sendable {
    private struct Entry {
        let channel: any Channel
        var inFlight = 0
        var idleSince = ContinuousClock.now
    }

    private struct State {
        var entries: [ObjectIdentifier: Entry] = [:]
        /// The listener stopped accepting: every connection was busy.
        var listenerWaits = false
    }

    public let limit: Int
    private let state = Mutex(State())

    public init(limit: Int) {
        self.limit = limit
    }

    /// How many connections are registered.
    public var count: Int { state.withLock { $0.entries.count } }

    /// Whether `accepted` connections (as the listener counts them) leave room
    /// for one more: below the limit, or one over it while a connection can be
    /// closed for it (an idle one, or one accepted but not yet registered,
    /// which is idle). A read of the listening socket accepts a few at once
    /// (NIO's `maxMessagesPerRead`), so the port may briefly hold that many more.
    func hasRoom(accepted: Int) -> Bool {
        state.withLock { state in
            let room =
                accepted < limit
                || (accepted == limit
                    && (state.entries.count < accepted || state.entries.values.contains { $0.inFlight == 0 }))
            state.listenerWaits = !room
            return room
        }
    }

    /// Registers a new connection, idle until a request begins; over the
    /// limit, the connection idle longest (never this new one) is closed. It
    /// leaves when it closes.
    public func opened(_ channel: any Channel) {
        let evicted = state.withLock { state in
            state.entries[ObjectIdentifier(channel)] = Entry(channel: channel)
            return state.entries.count > limit ? Self.takeLongestIdle(&state, sparing: channel) : nil
        }
        evicted?.close(promise: nil)
        channel.closeFuture.whenComplete { [self] _ in
            _ = state.withLock { $0.entries.removeValue(forKey: ObjectIdentifier(channel)) }
        }
    }

    /// A request or call began on `channel`.
    public func began(_ channel: any Channel) {
        state.withLock { $0.entries[ObjectIdentifier(channel)]?.inFlight += 1 }
    }

    /// A request or call on `channel` ended; if that leaves it idle while the
    /// listener waits for room, the connection idle longest is closed for it.
    public func ended(_ channel: any Channel) {
        let evicted = state.withLock { state -> (any Channel)? in
            guard var entry = state.entries[ObjectIdentifier(channel)] else { return nil }
            entry.inFlight = max(0, entry.inFlight - 1)
            if entry.inFlight == 0 { entry.idleSince = .now }
            state.entries[ObjectIdentifier(channel)] = entry
            guard entry.inFlight == 0, state.listenerWaits else { return nil }
            state.listenerWaits = false
            return Self.takeLongestIdle(&state, sparing: nil)
        }
        evicted?.close(promise: nil)
    }

    /// Whether `channel` has a request or call in flight.
    public func isBusy(_ channel: any Channel) -> Bool {
        state.withLock { ($0.entries[ObjectIdentifier(channel)]?.inFlight ?? 0) > 0 }
    }

    /// Removes and returns the connection idle longest, other than `spared`.
    private static func takeLongestIdle(_ state: inout State, sparing spared: (any Channel)?) -> (any Channel)? {
        var chosen: (key: ObjectIdentifier, since: ContinuousClock.Instant)?
        for (key, entry) in state.entries where entry.inFlight == 0 && entry.channel !== spared {
            if chosen == nil || entry.idleSince < chosen!.since { chosen = (key, entry.idleSince) }
        }
        return chosen.flatMap { state.entries.removeValue(forKey: $0.key)?.channel }
    }
}
