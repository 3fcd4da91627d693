import Crypto
import Foundation
import HTTPClient
import HTTPTypes
import Hummingbird
import Learning
import NIOCore
import Testing

@testable import TrainerService

/// Data by URL and hash (issue 34): fetched through the project's libcurl client from a
/// loopback server and the test object store, verified before anything reads it, cached by
/// hash (one download for two runs), bounded in size, and failing with the URL named.
@Suite("Data fetched by URL and hash: verified, cached, bounded")
struct DataFetchTests {
    /// A loopback server of files, counting the requests for each.
    final class FileServer: Sendable {
        let hits = HitCounter()
        let server: LoopbackServer
        var url: String { server.baseURL }

        init(files: [String: [UInt8]], chunkedLimitProbe: Int = 0) async throws {
            let router = Router()
            let hits = hits
            for (name, bytes) in files { await hits.put(name, bytes) }
            router.get("/files/:name") { request, context -> Response in
                let name = try context.parameters.require("name")
                await hits.hit(name)
                guard let bytes = await hits.file(name) else { return Response(status: .notFound) }
                return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
            }
            // A body of `chunkedLimitProbe` bytes without a Content-Length (chunked).
            router.get("/chunked") { _, _ -> Response in
                Response(
                    status: .ok,
                    body: ResponseBody { writer in
                        let piece = ByteBuffer(repeating: UInt8(ascii: "x"), count: 4096)
                        for _ in 0..<(chunkedLimitProbe / 4096 + 1) { try await writer.write(piece) }
                        try await writer.finish(nil)
                    })
            }
            // The file after a second (a download others wait for).
            router.get("/slow/:name") { _, context -> Response in
                let name = try context.parameters.require("name")
                await hits.hit(name)
                try await Task.sleep(for: .seconds(1))
                guard let bytes = await hits.file(name) else { return Response(status: .notFound) }
                return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
            }
            router.get("/stall") { _, _ -> Response in
                await hits.hit("stall")
                try await Task.sleep(for: .seconds(120))
                return Response(status: .ok)
            }
            server = try await LoopbackServer.start(router)
        }

        deinit { server.task.cancel() }
    }

    /// The files served, and the requests for each.
    actor HitCounter {
        private var files: [String: [UInt8]] = [:]
        func put(_ name: String, _ bytes: [UInt8]) { files[name] = bytes }
        func file(_ name: String) -> [UInt8]? { files[name] }
        private var counts: [String: Int] = [:]
        func hit(_ name: String) { counts[name, default: 0] += 1 }
        func count(_ name: String) -> Int { counts[name, default: 0] }
    }

    static func sha256(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    static func scratch() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "conveyor-data-\(UUID().uuidString.prefix(8))", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    static func fetcher(
        in directory: URL, maxBytes: Int64 = 1 << 20, capacity: Int64 = 1 << 30, localRoots: [URL] = [],
        timeout: Duration = .seconds(60)
    ) -> DataFetcher {
        var fetcher = DataFetcher(
            http: CurlHTTPClient(concurrency: 2), s3: nil, localRoots: localRoots, maxBytes: maxBytes,
            cache: DataCache(directory: directory.appendingPathComponent("cache"), capacity: capacity))
        fetcher.timeout = timeout
        return fetcher
    }

    static let csv = Array("a,b,y\n1,2,3\n4,5,6\n".utf8)

    @Test("the right hash: the bytes land in the run's directory; two runs at once download them once")
    func rightHashCachedOnce() async throws {
        let files = try await FileServer(files: ["train.csv": Self.csv])
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let fetcher = Self.fetcher(in: directory)
        let url = "\(files.url)/files/train.csv"
        let digest = DataDigest.sha256(Self.sha256(Self.csv))
        async let first = fetcher.fetch(
            url, digest: digest, key: "data.train", to: directory.appendingPathComponent("run-1/data.train"))
        async let second = fetcher.fetch(
            url, digest: digest, key: "data.train", to: directory.appendingPathComponent("run-2/data.train"))
        let (a, b) = try await (first, second)
        #expect(Array(try Data(contentsOf: a.file)) == Self.csv)
        #expect(Array(try Data(contentsOf: b.file)) == Self.csv)
        #expect([a.downloaded, b.downloaded].filter { $0 }.count == 1, "exactly one of them downloaded")
        #expect(a.bytes == Int64(Self.csv.count))
        let third = try await fetcher.fetch(
            url, digest: digest, key: "data.train", to: directory.appendingPathComponent("run-3/data.train"))
        #expect(!third.downloaded)
        #expect(await files.hits.count("train.csv") == 1, "one download for three runs")
    }

    @Test("a wrong hash fails naming both hashes and caches nothing; a 404 and a stalled server name the URL")
    func wrongHashAndHTTPFailures() async throws {
        let files = try await FileServer(files: ["train.csv": Self.csv])
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let fetcher = Self.fetcher(in: directory)
        let wrong = String(repeating: "0", count: 64)
        let url = "\(files.url)/files/train.csv"
        let error = await #expect(throws: DataFetcher.Failure.self) {
            _ = try await fetcher.fetch(
                url, digest: .sha256(wrong), key: "data.train", to: directory.appendingPathComponent("r/x"))
        }
        let text = "\(error.map { "\($0)" } ?? "")"
        #expect(text.contains("data.train") && text.contains(url))
        #expect(text.contains(Self.sha256(Self.csv)) && text.contains(wrong), "both hashes: \(text)")
        let cached = try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("cache").path)
        #expect(cached.isEmpty, "nothing cached, not even a partial file: \(cached)")

        let missing = await #expect(throws: DataFetcher.Failure.self) {
            _ = try await fetcher.fetch(
                "\(files.url)/files/absent.csv", digest: .sha256(wrong), key: "data.test",
                to: directory.appendingPathComponent("r/y"))
        }
        #expect(missing?.problem == "HTTP 404" && missing?.url == "\(files.url)/files/absent.csv")

        // Only this fetcher has a short timeout (under the whole suite's load a loopback answer can take seconds).
        let impatient = Self.fetcher(in: directory, timeout: .seconds(3))
        let stalled = await #expect(throws: DataFetcher.Failure.self) {
            _ = try await impatient.fetch(
                "\(files.url)/stall", digest: .sha256(wrong), key: "data.test",
                to: directory.appendingPathComponent("r/z"))
        }
        #expect(stalled?.problem == "timed out", "\(String(describing: stalled))")
    }

    @Test("a file over DATA_MAX_BYTES fails, with a Content-Length and without one (chunked)")
    func oversize() async throws {
        let big = [UInt8](repeating: 65, count: 300_000)
        let files = try await FileServer(files: ["big.csv": big], chunkedLimitProbe: 300_000)
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let fetcher = Self.fetcher(in: directory, maxBytes: 100_000)
        for path in ["/files/big.csv", "/chunked"] {
            let error = await #expect(throws: DataFetcher.Failure.self) {
                _ = try await fetcher.fetch(
                    "\(files.url)\(path)", digest: .sha256(Self.sha256(big)), key: "data.train",
                    to: directory.appendingPathComponent("r/big"))
            }
            #expect(error?.problem == "is over DATA_MAX_BYTES (100000)", "\(path): \(String(describing: error))")
        }
    }

    @Test("file:// reads only under DATA_LOCAL_ROOTS")
    func localFiles() async throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let allowed = directory.appendingPathComponent("datasets", isDirectory: true)
        try FileManager.default.createDirectory(at: allowed, withIntermediateDirectories: true)
        try Data(Self.csv).write(to: allowed.appendingPathComponent("train.csv"))
        let digest = DataDigest.sha256(Self.sha256(Self.csv))
        let closed = Self.fetcher(in: directory)
        let refused = await #expect(throws: DataFetcher.Failure.self) {
            _ = try await closed.fetch(
                "file://\(allowed.path)/train.csv", digest: digest, key: "data.train",
                to: directory.appendingPathComponent("r/a"))
        }
        #expect(refused?.problem.contains("DATA_LOCAL_ROOTS") == true)
        let open = Self.fetcher(in: directory, localRoots: [allowed])
        let fetched = try await open.fetch(
            "file://\(allowed.path)/train.csv", digest: digest, key: "data.train",
            to: directory.appendingPathComponent("r/b"))
        #expect(Array(try Data(contentsOf: fetched.file)) == Self.csv)
        // (Another hash: the cache is by content, and these bytes are cached now.)
        let outside = await #expect(throws: DataFetcher.Failure.self) {
            _ = try await open.fetch(
                "file://\(allowed.path)/../../../etc/passwd", digest: .sha256(String(repeating: "1", count: 64)),
                key: "data.train",
                to: directory.appendingPathComponent("r/c"))
        }
        #expect(outside?.problem.contains("DATA_LOCAL_ROOTS") == true, "a path leaving the root is refused")
    }

    @Test("past DATA_CACHE_BYTES the least recently used file goes; a run's link keeps its bytes")
    func leastRecentlyUsedEviction() async throws {
        let (one, two, three) = (
            [UInt8](repeating: 1, count: 40_000), [UInt8](repeating: 2, count: 40_000),
            [UInt8](repeating: 3, count: 40_000)
        )
        let files = try await FileServer(files: ["1": one, "2": two, "3": three])
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let fetcher = Self.fetcher(in: directory, capacity: 100_000)
        func fetch(_ name: String, _ bytes: [UInt8]) async throws -> DataFetcher.Fetched {
            try await fetcher.fetch(
                "\(files.url)/files/\(name)", digest: .sha256(Self.sha256(bytes)), key: "data.train",
                to: directory.appendingPathComponent("run-\(UUID().uuidString.prefix(6))/\(name)"))
        }
        let firstRun = try await fetch("1", one)
        _ = try await fetch("2", two)
        #expect(try await !fetch("1", one).downloaded, "1 used again: now the most recent")
        _ = try await fetch("3", three)  // 120,000 bytes: the least recently used (2) goes
        #expect(try await !fetch("1", one).downloaded)
        #expect(try await fetch("2", two).downloaded, "2 was evicted and is downloaded again")
        #expect(await files.hits.count("2") == 2)
        #expect(await files.hits.count("1") == 1)
        #expect(Array(try Data(contentsOf: firstRun.file)) == one, "the run's hard link outlives evictions")
    }

    @Test("s3:// through the object store's settings: the object, verified; a missing key named")
    func objectStore() async throws {
        guard TestObjectStore.enabled else { return }
        let store = try await TestObjectStore.shared()
        let key = "data-\(UUID().uuidString.prefix(8))/train.csv"
        try await store.client().put(key, data: Self.csv)
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let fetcher = DataFetcher(
            http: store.http, s3: try store.settings, localRoots: [], maxBytes: 1 << 20,
            cache: DataCache(directory: directory.appendingPathComponent("cache"), capacity: 1 << 30))
        let fetched = try await fetcher.fetch(
            "s3://\(TestObjectStore.bucket)/\(key)", digest: .sha256(Self.sha256(Self.csv)), key: "data.test",
            to: directory.appendingPathComponent("r/t"))
        #expect(Array(try Data(contentsOf: fetched.file)) == Self.csv)
        let missing = await #expect(throws: DataFetcher.Failure.self) {
            _ = try await fetcher.fetch(
                "s3://\(TestObjectStore.bucket)/\(key).absent", digest: .sha256(String(repeating: "2", count: 64)),
                key: "data.test", to: directory.appendingPathComponent("r/u"))
        }
        #expect(missing?.problem.contains("no such object") == true, "\(String(describing: missing))")
        let unconfigured = DataFetcher(
            http: store.http, s3: nil, localRoots: [], maxBytes: 1 << 20,
            cache: DataCache(directory: directory.appendingPathComponent("cache2"), capacity: 1 << 30))
        let refused = await #expect(throws: DataFetcher.Failure.self) {
            _ = try await unconfigured.fetch(
                "s3://\(TestObjectStore.bucket)/\(key)", digest: .sha256(String(repeating: "3", count: 64)),
                key: "data.test",
                to: directory.appendingPathComponent("r/v"))
        }
        #expect(refused?.problem.contains("S3_ENDPOINT") == true)
        var scoped = fetcher
        scoped.buckets = ["datasets"]
        let outside = await #expect(throws: DataFetcher.Failure.self) {
            _ = try await scoped.fetch(
                "s3://\(TestObjectStore.bucket)/\(key)", digest: .sha256(String(repeating: "4", count: 64)),
                key: "data.test", to: directory.appendingPathComponent("r/w"))
        }
        #expect(outside?.problem.contains("DATA_S3_BUCKETS") == true, "\(String(describing: outside))")
        #expect(refused.map { "\($0)" }?.contains(store.secretAccessKey) == false)
    }

    @Test("cancelled: a run waiting for another's download stops at once, and so does a stalled download")
    func cancellation() async throws {
        let files = try await FileServer(files: [:])
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let fetcher = Self.fetcher(in: directory)
        let digest = DataDigest.sha256(String(repeating: "5", count: 64))
        let downloader = Task {
            try await fetcher.fetch(
                "\(files.url)/stall", digest: digest, key: "data.train", to: directory.appendingPathComponent("a/f"))
        }
        _ = try await eventually(timeout: 30, "the stalled download started") {
            await files.hits.count("stall") == 1 ? true : nil
        }
        let waiter = Task {
            try await fetcher.fetch(
                "\(files.url)/stall", digest: digest, key: "data.train", to: directory.appendingPathComponent("b/f"))
        }
        // The waiter waits (it sends no request of its own); cancelled, it returns at once.
        _ = try await eventually(timeout: 30, "the second run waiting for the first's download") {
            await fetcher.cache.waiterCount(digest.cacheName) == 1 ? true : nil
        }
        let start = ContinuousClock.now
        waiter.cancel()
        await #expect(throws: CancellationError.self) { _ = try await waiter.value }
        #expect(ContinuousClock.now - start < .seconds(5), "the waiter stopped at once")
        #expect(await files.hits.count("stall") == 1)
        let stop = ContinuousClock.now
        downloader.cancel()
        await #expect(throws: CancellationError.self) { _ = try await downloader.value }
        #expect(ContinuousClock.now - stop < .seconds(10), "the stalled transfer stopped (libcurl's progress callback)")
    }

    @Test("a run waiting for a download that failed downloads the file itself")
    func waiterRetries() async throws {
        let files = try await FileServer(files: ["train.csv": Self.csv])
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let fetcher = Self.fetcher(in: directory)
        let digest = DataDigest.sha256(Self.sha256(Self.csv))
        // The same bytes by two URLs: the first (slow, then 404) is downloading when the second asks.
        let failing = Task {
            try await fetcher.fetch(
                "\(files.url)/slow/absent.csv", digest: digest, key: "data.train",
                to: directory.appendingPathComponent("a/f"))
        }
        _ = try await eventually(timeout: 30, "the first download started") {
            await files.hits.count("absent.csv") == 1 ? true : nil
        }
        let second = try await fetcher.fetch(
            "\(files.url)/files/train.csv", digest: digest, key: "data.train",
            to: directory.appendingPathComponent("b/f"))
        await #expect(throws: DataFetcher.Failure.self) { _ = try await failing.value }
        #expect(second.downloaded)
        #expect(Array(try Data(contentsOf: second.file)) == Self.csv)
    }
}
