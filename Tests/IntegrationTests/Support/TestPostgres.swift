import Foundation
import Postgres
import Subprocess
import Synchronization

/// A throwaway PostgreSQL server for tests: `initdb` into a temp directory,
/// a free loopback port, trust auth, fsync off. When the tests run as root
/// (CI), the server runs as the unprivileged `postgres` user, since
/// PostgreSQL refuses to run as root.
final class TestPostgres: Sendable {
    let port: Int
    let directory: URL
    private let binDirectory: URL
    private let runAs: String?

    var dataDirectory: URL { directory.appendingPathComponent("data") }
    /// Connection URL for the server's default database.
    var url: String { url(database: "postgres") }

    func url(database: String) -> String {
        "postgresql://postgres@127.0.0.1:\(port)/\(database)?connect_timeout=5"
    }

    /// One server shared by the tests that do not stop it.
    static func shared() async throws -> TestPostgres {
        try await SharedServer.instance.get()
    }

    /// A fresh empty database on the shared server (or on `DATABASE_URL`'s server).
    static func freshDatabase() async throws -> String {
        if let external = ProcessInfo.processInfo.environment["DATABASE_URL"], !external.isEmpty {
            return try await createDatabase(adminURL: external) { name in
                Self.connectionString(external, database: name)
            }
        }
        let server = try await shared()
        return try await createDatabase(adminURL: server.url) { server.url(database: $0) }
    }

    /// `base` pointing at `database` instead: the URI's path (never its user
    /// or host, which may also say "postgres"), or a key/value string's `dbname`.
    static func connectionString(_ base: String, database: String) -> String {
        if base.hasPrefix("postgres://") || base.hasPrefix("postgresql://"),
            var components = URLComponents(string: base)
        {
            components.path = "/" + database
            return components.string ?? base
        }
        var parts = base.split(separator: " ").map(String.init).filter { !$0.hasPrefix("dbname=") }
        parts.append("dbname=\(database)")
        return parts.joined(separator: " ")
    }

    private static func createDatabase(adminURL: String, url: (String) -> String) async throws -> String {
        let name = "test_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased())"
        let admin = PostgresClient(url: adminURL, maxConnections: 1)
        defer { Task { await admin.shutdown() } }
        try await admin.withConnection { try $0.execute("CREATE DATABASE \(name)") }
        return url(name)
    }

    /// Starts a new server of its own.
    init() throws {
        binDirectory = try Self.findBinaries()
        runAs = getuid() == 0 ? "postgres" : nil
        port = try FreePort.find()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "conveyor-pg-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        if let runAs {
            try Self.shell(["chown", runAs, directory.path])
        }
        try run(
            "initdb",
            ["-D", dataDirectory.path, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"])
        RunningServers.add(self)
        try start()
    }

    /// Starts (or restarts after `stop()`) the server and waits until it accepts connections.
    func start() throws {
        try run(
            "pg_ctl",
            [
                "start", "-w", "-t", "60", "-D", dataDirectory.path, "-l",
                directory.appendingPathComponent("server.log").path,
                "-o",
                "-p \(port) -k \(directory.path) -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
            ])
    }

    /// Stops the server (fast shutdown: clients are disconnected).
    func stop() throws {
        try run("pg_ctl", ["stop", "-w", "-m", "fast", "-D", dataDirectory.path])
    }

    /// Stops the server and deletes its files.
    func destroy() {
        try? stop()
        RunningServers.remove(self)
        try? FileManager.default.removeItem(at: directory)
    }

    private func run(_ tool: String, _ arguments: [String]) throws {
        let executable = binDirectory.appendingPathComponent(tool).path
        if let runAs {
            try Self.shell(["runuser", "-u", runAs, "--", executable] + arguments)
        } else {
            try Self.shell([executable] + arguments)
        }
    }

    @discardableResult
    static func shell(_ arguments: [String]) throws -> String {
        let result = try ChildProcess.run(arguments)
        guard result.status == 0 else {
            throw HarnessError(
                "\(arguments.joined(separator: " ")) failed (\(result.status)): \(result.stdout)\(result.stderr)")
        }
        return result.stdout
    }

    private static func findBinaries() throws -> URL {
        if let bin = ProcessInfo.processInfo.environment["PG_BIN"] { return URL(fileURLWithPath: bin) }
        let root = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        if let newest = versions.compactMap(Int.init).max() {
            return URL(fileURLWithPath: "\(root)/\(newest)/bin")
        }
        throw HarnessError("no PostgreSQL server found under \(root); install postgresql or set PG_BIN")
    }
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Starts the shared server once, on first use.
private actor SharedServer {
    static let instance = SharedServer()
    private var server: TestPostgres?

    func get() throws -> TestPostgres {
        if let server { return server }
        let started = try TestPostgres()
        server = started
        return started
    }
}

/// Servers to stop when the test process exits.
private enum RunningServers {
    static let servers = Mutex<[ObjectIdentifier: (TestPostgres)]>([:])
    static let hook: Void = { atexit { RunningServers.stopAll() } }()

    static func add(_ server: TestPostgres) {
        _ = hook
        servers.withLock { $0[ObjectIdentifier(server)] = server }
    }

    static func remove(_ server: TestPostgres) {
        _ = servers.withLock { $0.removeValue(forKey: ObjectIdentifier(server)) }
    }

    static func stopAll() {
        for server in servers.withLock({ Array($0.values) }) { server.destroy() }
    }
}

/// Finds a free TCP port on 127.0.0.1, never the same one twice in a test run (tests run
/// in parallel), and below the kernel's ephemeral range: a port from that range could be taken
/// as the local end of some outgoing loopback connection (a Postgres client, curl) between
/// the probe and the service's bind, which failed CI once (`Address already in use`).
enum FreePort {
    private static let handedOut = Mutex<Set<Int>>([])

    /// Ports to pick from: 10000 up to the start of `ip_local_port_range` (32768 by default).
    static let range: Range<Int> = {
        let text = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
        let start = text.split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) } ?? 32768
        return 10000..<max(start, 10001)
    }()

    static func find() throws -> Int {
        for _ in 0..<200 {
            let port = Int.random(in: range)
            guard handedOut.withLock({ !$0.contains(port) }), (try? probe(port)) == port else { continue }
            if handedOut.withLock({ $0.insert(port).inserted }) { return port }
        }
        throw HarnessError("no fresh free port found in \(range)")
    }

    /// Binds `port` on 127.0.0.1 (throws when it is taken) and returns it.
    private static func probe(_ port: Int) throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else { throw HarnessError("bind() failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
