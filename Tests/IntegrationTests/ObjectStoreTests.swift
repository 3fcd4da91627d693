import Foundation
import HTTPClient
import Testing

@testable import ObjectStore

/// The S3 client (libcurl signs with SigV4) against a real SeaweedFS started by
/// `TestObjectStore`. Tests share one server and bucket, each under its own prefix.
@Suite("Object store: S3 over libcurl against a real SeaweedFS")
struct ObjectStoreTests {
    static let needsServer = ConditionTrait.enabled(
        if: TestObjectStore.enabled, "needs SeaweedFS's weed: CONVEYOR_WEED (deploy/local.sh test installs it)")

    /// A prefix no other test writes under.
    static func freshPrefix() -> String { "t-\(UUID().uuidString.prefix(8).lowercased())/" }

    /// A file of `size` random bytes in a fresh directory inside the shared
    /// server's, which goes when the server does.
    static func randomFile(size: Int, name: String = "source.bin") async throws -> URL {
        let directory = try await TestObjectStore.shared().directory.appendingPathComponent(
            "scratch/\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let random = try #require(FileHandle(forReadingAtPath: "/dev/urandom"))
        defer { try? random.close() }
        let file = directory.appendingPathComponent(name)
        try random.readData(ofLength: size).write(to: file)
        return file
    }

    static func sha256(_ file: URL) async throws -> String {
        try await PayloadHash.of(CurlFileRange.whole(file))
    }

    @Test("put, get, head and delete round-trip bytes", needsServer)
    func roundTrip() async throws {
        let client = try await TestObjectStore.shared().client()
        let key = Self.freshPrefix() + "model/1/metrics.json"
        let bytes = Array(#"{"rmse": 12.5}"#.utf8)
        #expect(try await client.head(key) == nil)
        let etag = try await client.put(key, data: bytes, contentType: "application/json")
        #expect(try await client.get(key) == bytes)
        let head = try #require(try await client.head(key))
        #expect(head == S3ObjectHead(size: Int64(bytes.count), etag: etag))
        try await client.put(key, data: Array("replaced".utf8))
        #expect(try await client.get(key) == Array("replaced".utf8))
        try await client.delete(key)
        #expect(try await client.head(key) == nil)
        try await client.delete(key)  // deleting what is gone is not an error
    }

    @Test("an empty object round-trips, as data and as a file", needsServer)
    func emptyObject() async throws {
        let client = try await TestObjectStore.shared().client()
        let prefix = Self.freshPrefix()
        try await client.put(prefix + "empty", data: [])
        #expect(try await client.get(prefix + "empty") == [])
        let file = try await Self.randomFile(size: 0)
        try await client.put(prefix + "empty-file", file: file)
        #expect(try await client.head(prefix + "empty-file")?.size == 0)
    }

    @Test("list returns every key under a prefix across pages of continuation tokens", needsServer)
    func listContinuation() async throws {
        let client = try await TestObjectStore.shared().client()
        let prefix = Self.freshPrefix()
        let keys = (1...7).map { prefix + "runs/\($0)/log.txt" }
        for key in keys { try await client.put(key, data: Array(key.utf8)) }
        try await client.put(prefix + "other/file", data: [1])
        #expect(try await client.list(prefix: prefix + "runs/", pageSize: 2) == keys.sorted())
        #expect(try await client.list(prefix: prefix + "runs/") == keys.sorted())
        #expect(try await client.list(prefix: prefix + "nothing/", pageSize: 2) == [])
        #expect(try await client.list(prefix: prefix, pageSize: 3).count == 8)
    }

    @Test(
        "keys that need percent-encoding round-trip through put, head, get, list and delete", needsServer,
        arguments: [
            "with space.txt", "plus+sign.txt", "ünïcødé ☃/模型.onnx", "a&b<c>'\"quote\".txt", "percent%2F%20.txt",
            "semi;colon=eq?query#hash.txt", "tilde~_-.txt", "emoji 🚀.bin", "dots...and..more",
        ])
    func percentEncodedKeys(name: String) async throws {
        let client = try await TestObjectStore.shared().client()
        let prefix = Self.freshPrefix()
        let key = prefix + name
        let bytes = Array("content of \(name)".utf8)
        try await client.put(key, data: bytes)
        #expect(try await client.head(key)?.size == Int64(bytes.count))
        #expect(try await client.get(key) == bytes)
        #expect(try await client.list(prefix: prefix) == [key])
        try await client.delete(key)
        #expect(try await client.list(prefix: prefix) == [])
    }

    @Test("a 12 MiB file goes up in three 5 MiB-bounded parts and downloads to disk with the same SHA-256", needsServer)
    func multipartAndStreamingDownload() async throws {
        let store = try await TestObjectStore.shared()
        let client = try store.client(multipartThreshold: 5 << 20, partSize: 5 << 20)
        let key = Self.freshPrefix() + "model/2/model.onnx"
        let source = try await Self.randomFile(size: 12 << 20)
        let etag = try await client.put(key, file: source)
        #expect(etag.hasSuffix("-3\""), "a multipart ETag ends with its part count: \(etag)")
        let head = try #require(try await client.head(key))
        #expect(head.size == 12 << 20)

        let destination = source.deletingLastPathComponent().appendingPathComponent("downloaded.onnx")
        let downloaded = try await client.download(key, to: destination)
        #expect(downloaded.size == 12 << 20)
        #expect(try await Self.sha256(destination) == Self.sha256(source))
        let leftovers = try FileManager.default.contentsOfDirectory(
            atPath: destination.deletingLastPathComponent().path)
        #expect(leftovers.sorted() == ["downloaded.onnx", "source.bin"], "no partial file stays behind")
    }

    @Test("a multipart upload that fails part-way is aborted: no object and no open upload remain", needsServer)
    func failedMultipartIsAborted() async throws {
        let client = try await TestObjectStore.shared().client(multipartThreshold: 5 << 20, partSize: 5 << 20)
        let prefix = Self.freshPrefix()
        let source = try await Self.randomFile(size: 11 << 20)
        // A range 1 MiB longer than the file: the third part cannot be read, after two went up.
        let tooLong = CurlFileRange(file: source, length: 12 << 20)
        await #expect(throws: (any Error).self) {
            try await client.putInParts(prefix + "model.onnx", file: tooLong, contentType: "application/octet-stream")
        }
        #expect(try await client.openUploads(prefix: prefix) == [])
        #expect(try await client.head(prefix + "model.onnx") == nil)
    }

    @Test(
        "an upload left open (a killed uploader) is listed with its start time, and aborting it discards it",
        needsServer)
    func openUploadsAndAbort() async throws {
        let client = try await TestObjectStore.shared().client()
        let prefix = Self.freshPrefix()
        let uploadID = try await client.createMultipartUpload(prefix + "half/written.bin", contentType: "x/y")
        let open = try await client.openUploads(prefix: prefix)
        #expect(open.map(\.key) == [prefix + "half/written.bin"] && open.map(\.uploadID) == [uploadID])
        let started = try #require(open.first?.initiated)
        #expect(abs(started.timeIntervalSinceNow) < 600, "\(started)")
        try await client.abort(try #require(open.first))
        #expect(try await client.openUploads(prefix: prefix) == [])
    }

    @Test("a file under the threshold goes up in one streamed PUT and comes back whole", needsServer)
    func singlePutFromFile() async throws {
        let client = try await TestObjectStore.shared().client()
        let key = Self.freshPrefix() + "data/train.csv"
        let source = try await Self.randomFile(size: 3 << 20 + 17)
        let etag = try await client.put(key, file: source)
        #expect(!etag.contains("-"), "a single PUT's ETag is the MD5: \(etag)")
        #expect(try await client.get(key) == Array(try Data(contentsOf: source)))
    }

    @Test("a missing key is NoSuchKey naming the key; a download of it leaves the destination untouched", needsServer)
    func missingKey() async throws {
        let client = try await TestObjectStore.shared().client()
        let key = Self.freshPrefix() + "not/there.bin"
        let error = try await #require(throws: S3Error.self) { try await client.get(key) }
        #expect(error.code == .noSuchKey)
        #expect(error.status == 404 && error.key == key && error.bucket == TestObjectStore.bucket)
        #expect(error.description.contains(key), "\(error)")

        let existing = try await Self.randomFile(size: 10)
        let before = try Data(contentsOf: existing)
        let downloadError = try await #require(throws: S3Error.self) { try await client.download(key, to: existing) }
        #expect(downloadError.code == .noSuchKey)
        #expect(try Data(contentsOf: existing) == before)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: existing.deletingLastPathComponent().path).count == 1)
    }

    @Test("a missing bucket is NoSuchBucket naming the bucket; creating a bucket twice is fine", needsServer)
    func missingBucket() async throws {
        let store = try await TestObjectStore.shared()
        let name = "missing-\(UUID().uuidString.prefix(8).lowercased())"
        let client = try store.client(bucket: name)
        let error = try await #require(throws: S3Error.self) { try await client.get("a/key") }
        #expect(error.code == .noSuchBucket)
        #expect(error.description.contains(name), "\(error)")
        try await client.createBucket()
        try await client.createBucket()
        try await client.put("a/key", data: [42])
        #expect(try await client.get("a/key") == [42])
    }

    @Test(
        "a wrong secret is refused with SignatureDoesNotMatch, and no error or description shows a secret", needsServer)
    func wrongSecret() async throws {
        let store = try await TestObjectStore.shared()
        let wrongSecret = "wrong-\(UUID().uuidString)"
        let settings = try S3Settings(
            endpoint: store.endpoint, accessKeyID: TestObjectStore.accessKeyID, secretAccessKey: wrongSecret)
        let client = S3Client(bucket: TestObjectStore.bucket, settings: settings, http: store.http)
        let key = Self.freshPrefix() + "refused.txt"
        let error = try await #require(throws: S3Error.self) { try await client.put(key, data: [1, 2, 3]) }
        #expect(error.code == .signatureDoesNotMatch)
        #expect(error.status == 403)
        let shown = [
            String(describing: error), String(reflecting: error), String(describing: settings),
            String(reflecting: settings), String(describing: client), settings.signing.description,
        ]
        for text in shown {
            #expect(!text.contains(wrongSecret) && !text.contains(store.secretAccessKey), "\(text)")
        }
        let refusedFile = try await Self.randomFile(size: 1 << 20)
        let fileError = try await #require(throws: S3Error.self) { try await client.put(key, file: refusedFile) }
        #expect(fileError.code == .signatureDoesNotMatch)
        #expect(try await store.client().head(key) == nil, "nothing was stored")
    }

    @Test("an unreachable endpoint is a transient connection error, not an S3 error")
    func unreachable() async throws {
        let port = try FreePort.find()
        let settings = try S3Settings(endpoint: "http://127.0.0.1:\(port)", accessKeyID: "key", secretAccessKey: "s")
        let http = CurlHTTPClient()
        defer { Task { await http.shutdown() } }
        let client = S3Client(bucket: "bucket", settings: settings, http: http)
        let error = try await #require(throws: CurlError.self) { try await client.head("key") }
        #expect(error.isTransient)
    }

    @Test("put and get of a 10 MB object on loopback: timings", needsServer)
    func timings() async throws {
        let client = try await TestObjectStore.shared().client()
        let key = Self.freshPrefix() + "timed.bin"
        let source = try await Self.randomFile(size: 10_000_000)
        let data = Array(try Data(contentsOf: source))
        let clock = ContinuousClock()
        var report: [String] = []
        for round in 1...3 {
            let put = try await clock.measure { try await client.put(key, data: data) }
            var received: [UInt8] = []
            let get = try await clock.measure { received = try await client.get(key) }
            let putFile = try await clock.measure { try await client.put(key, file: source) }
            let destination = source.deletingLastPathComponent().appendingPathComponent("copy-\(round)")
            let download = try await clock.measure { try await client.download(key, to: destination) }
            let hash = try await clock.measure { _ = try await Self.sha256(source) }
            #expect(received == data)
            report.append(
                "round \(round): put \(put), get \(get), put file \(putFile), download \(download) (SHA-256 of the file \(hash))"
            )
        }
        print("ObjectStoreTests 10 MB on loopback:\n" + report.joined(separator: "\n"))
    }
}
