import Foundation

/// Plain TCP connections to a loopback port that never send a byte, as a
/// flood of idle clients holds them, and what the server did with them.
final class IdleConnections {
    private var descriptors: [Int32] = []
    private var open: Set<Int32> = []

    /// Opens `count` connections to 127.0.0.1:`port` (each completes its
    /// handshake in the kernel whether or not the server accepts it).
    init(port: Int, count: Int) throws {
        for _ in 0..<count {
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard descriptor >= 0 else { throw HarnessError("socket() failed: \(errno)") }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = UInt16(port).bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard connected == 0 else {
                Glibc.close(descriptor)
                throw HarnessError("connect() to \(port) failed: \(errno)")
            }
            descriptors.append(descriptor)
        }
        open = Set(descriptors)
    }

    deinit { close() }

    /// How many of the connections the server has closed so far.
    var closedByServer: Int { descriptors.count - open.count }

    /// Waits until the server has closed `count` of the connections (all by
    /// default) or `timeout` seconds pass, calling `sample` after each wait of
    /// at most `tick` seconds; returns how many the server closed.
    @discardableResult
    func waitUntilClosed(_ count: Int? = nil, timeout: Double, tick: Double = 0.05, sample: () -> Void = {}) -> Int {
        let deadline = Date().addingTimeInterval(timeout)
        while closedByServer < (count ?? descriptors.count), Date() < deadline {
            var polled = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let wait = min(tick, deadline.timeIntervalSinceNow)
            _ = poll(&polled, nfds_t(polled.count), Int32(max(1, wait * 1000)))
            for entry in polled where entry.revents != 0 && isClosed(entry.fd) { open.remove(entry.fd) }
            sample()
        }
        return closedByServer
    }

    /// Reads and drops what the server sent (an HTTP/2 server's SETTINGS); true at end of stream or a reset.
    private func isClosed(_ descriptor: Int32) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(descriptor, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if count > 0 { continue }
            return count == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)
        }
    }

    func close() {
        for descriptor in descriptors { Glibc.close(descriptor) }
        descriptors = []
        open = []
    }

    /// Connections the server process has accepted on `port`: established
    /// sockets whose local end is `port` and that have an inode (one still in
    /// the accept queue has none), from /proc/net/tcp.
    static func accepted(port: Int) -> Int {
        guard let file = FileHandle(forReadingAtPath: "/proc/net/tcp") else { return -1 }
        defer { try? file.close() }
        let table = String(decoding: (try? file.readToEnd()) ?? Data(), as: UTF8.self)
        return table.split(separator: "\n").dropFirst().filter { line in
            let fields = line.split(separator: " ")
            guard fields.count > 9, fields[3] == "01", fields[9] != "0" else { return false }
            return fields[1].split(separator: ":").last.flatMap { Int($0, radix: 16) } == port
        }.count
    }
}
