import Artifacts
import Foundation
import HTTPClient
import ObjectStore
import Testing

/// Serving's local copies of object-store versions stay within their bound:
/// least recently used first, never the live or the previous version.
@Suite("Artifact cache eviction")
struct ArtifactCacheTests {
    @Test("past the bound the least recently used copies go, the kept ones never; file:// evicts nothing")
    func evictsLeastRecentlyUsed() async throws {
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent(
            "conveyor-cache-\(UUID().uuidString.prefix(8))", isDirectory: true)
        defer { try? FileManager.default.removeItem(at: cache) }
        let http = CurlHTTPClient(concurrency: 1)
        let settings = try S3Settings(
            endpoint: "http://127.0.0.1:9", accessKeyID: "unused", secretAccessKey: "unused-secret")
        let storage = ArtifactStorage(
            location: .s3(try S3Location(bucket: "conveyor", prefix: "artifacts")), cacheDirectory: cache,
            settings: settings, http: http)
        // Five versions of 1,000 bytes, used one after the other (v1 longest ago).
        for index in 1...5 {
            let directory = cache.appendingPathComponent("model/v\(index)", isDirectory: true)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try Data(repeating: UInt8(index), count: 1000).write(to: directory.appendingPathComponent("model.json"))
            try FileManager.default.setAttributes(
                [.modificationDate: Date(timeIntervalSinceNow: Double(index - 10) * 60)], ofItemAtPath: directory.path)
        }
        // Room for three; v1 is live and v2 the previous version: they stay, v3 and v4 go.
        let removed = storage.evict(maxBytes: 3000, keep: ["model/v1", "model/v2"])
        #expect(removed == ["model/v3", "model/v4"])
        let left = try FileManager.default.contentsOfDirectory(atPath: cache.appendingPathComponent("model").path)
        #expect(Set(left) == ["v1", "v2", "v5"])
        let local = ArtifactStorage(location: .file(cache), cacheDirectory: cache, settings: nil, http: nil)
        #expect(local.evict(maxBytes: 0, keep: []).isEmpty, "a shared directory is the store, never a cache")
        await http.shutdown()
    }
}
