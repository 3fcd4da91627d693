import HummingbirdCore

/// `MAX_CONNECTIONS` for one listening port, as Hummingbird's
/// `AvailableConnectionsChannelHandler` asks it: below the limit every
/// connection is accepted; at it, one more is accepted while some connection
/// is idle (`OpenConnections` then closes the one idle longest); when all
/// are busy, new connections wait in the listen backlog until one closes or
/// turns idle.
public struct ConnectionLimit: AvailableConnectionsDelegate {
    public let connections: OpenConnections
    private var count = 0

    public init(connections: OpenConnections) {
        self.connections = connections
    }

    public mutating func connectionOpened() {
        count += 1
    }

    public mutating func connectionClosed() {
        count -= 1
    }

    public func isAcceptingNewConnections() -> Bool {
        connections.hasRoom(accepted: count)
    }
}
