import Artifacts
import Foundation
import HTTPClient
import JSON
import Learning
import ObjectStore
import Subprocess
import Synchronization
import Testing

/// Model versions in a real S3-compatible store (SeaweedFS, started by the
/// harness): replicas with no shared volume, a store that goes away and comes
/// back, and versions that are corrupt or were never finished.
@Suite("Artifacts in an object store", .serialized, .enabled(if: TestObjectStore.enabled))
struct ObjectStoreArtifactTests {
    /// The settings every service gets for `store`, under a prefix of the test's own.
    static func settings(_ store: TestObjectStore, prefix: String, endpoint: String? = nil) -> [String: String] {
        [
            "ARTIFACTS_URL": "s3://\(TestObjectStore.bucket)/\(prefix)", "S3_ENDPOINT": endpoint ?? store.endpoint,
            "S3_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": TestObjectStore.accessKeyID,
            "AWS_SECRET_ACCESS_KEY": store.secretAccessKey,
        ]
    }

    static func scratch(_ name: String) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "conveyor-\(name)-\(UUID().uuidString.prefix(8))", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    /// The pull request a serving replica answers with.
    static func servedPR(_ trio: Trio, _ url: String) async throws -> Int64? {
        let (status, info) = try await trio.get("\(url)/")
        return status == 200 ? info["pull_request"]?["number"]?.integerValue : nil
    }

    @Test("two replicas with their own caches and no shared volume serve a merge, then swap to the next under load")
    func twoReplicasNoSharedVolume() async throws {
        let store = try await TestObjectStore.shared()
        let prefix = "artifacts-\(UUID().uuidString.prefix(8).lowercased())"
        let s3 = Self.settings(store, prefix: prefix)
        let caches = try Self.scratch("caches")
        defer { try? FileManager.default.removeItem(at: caches) }
        let trio = try await Trio(
            trainerSettings: s3,
            servingSettings: s3.merging(["ARTIFACTS_CACHE_DIR": caches.appendingPathComponent("a").path]) { $1 })
        var replica: LaunchedProcess?
        do {
            let (second, secondURL) = try await trio.launchServing(
                "serving-b",
                settings: s3.merging(["ARTIFACTS_CACHE_DIR": caches.appendingPathComponent("b").path]) { $1 })
            replica = second
            _ = try await trio.get("\(trio.vcsURL)/checkout")
            _ = try await trio.waitForServedPR(1)
            _ = try await eventually(timeout: 30, "the second replica serving PR #1") {
                try await Self.servedPR(trio, secondURL) == 1 ? true : nil
            }
            // Nothing went to the directory both were also given as ARTIFACTS_DIR: the store is the bucket.
            let shared = trio.directory.appendingPathComponent("artifacts")
            #expect((try? FileManager.default.contentsOfDirectory(atPath: shared.path))?.isEmpty ?? true)
            let keys = try await store.client().list(prefix: prefix + "/")
            #expect(keys.contains { $0.hasSuffix("/" + ArtifactCompletion.objectName) }, "\(keys)")
            for cache in ["a", "b"] {
                let models = try FileManager.default.contentsOfDirectory(
                    atPath: caches.appendingPathComponent(cache).path
                ).filter { !$0.hasPrefix(".") }
                #expect(!models.isEmpty, "replica \(cache) keeps its own copy")
            }

            // A hot swap reaches both replicas while they answer: no request fails.
            let sample = try String(
                contentsOf: Trio.repositoryRoot.appendingPathComponent("deploy/example-model/sample-request.json"),
                encoding: .utf8)
            let failures = FailureCount()
            let stop = StopFlag()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for url in [trio.servingURL, secondURL, trio.servingURL, secondURL] {
                    group.addTask {
                        while !stop.isSet {
                            let (status, _) = try await trio.post("\(url)/predict", body: sample)
                            if status != 200 { failures.add() }
                        }
                    }
                }
                group.addTask {
                    defer { stop.set() }
                    _ = try await Trio.exampleRepo("merge-next", trio.modelRepository)
                    _ = try await trio.get("\(trio.vcsURL)/checkout")
                    _ = try await trio.waitForServedPR(2)
                    _ = try await eventually(timeout: 30, "the second replica serving PR #2") {
                        try await Self.servedPR(trio, secondURL) == 2 ? true : nil
                    }
                }
                try await group.waitForAll()
            }
            #expect(failures.value == 0, "requests failed during the swap")
        } catch {
            Issue.record("\(error)\n\(trio.logs())")
        }
        _ = replica?.terminate()
        _ = await trio.stop()
    }

    @Test("the store out of reach: serving keeps answering and says so; the next deployment applies once it is back")
    func storeOutOfReach() async throws {
        let store = try await TestObjectStore.shared()
        let prefix = "artifacts-\(UUID().uuidString.prefix(8).lowercased())"
        let gateDirectory = try Self.scratch("gate")
        defer { try? FileManager.default.removeItem(at: gateDirectory) }
        let open = gateDirectory.appendingPathComponent("open")
        FileManager.default.createFile(atPath: open.path, contents: Data())
        let gatePort = try FreePort.find()
        let storePort = store.endpoint.split(separator: ":").last.map(String.init) ?? ""
        let python = try #require(ProcessInfo.processInfo.environment["CONVEYOR_TEST_PYTHON"] ?? "/usr/bin/python3")
        let gate = try LaunchedProcess(
            "tcp-gate",
            arguments: [
                Trio.repositoryRoot.appendingPathComponent("Tests/Fixtures/tcp_gate.py").path, "\(gatePort)",
                storePort, open.path,
            ], environment: [:], logDirectory: gateDirectory, executablePath: python)
        defer { _ = gate.terminate() }
        _ = try await eventually(timeout: 30, "the gate listening") {
            gate.logTail().contains("ready") ? true : nil
        }
        let trio = try await Trio(
            trainerSettings: Self.settings(store, prefix: prefix),
            servingSettings: Self.settings(store, prefix: prefix, endpoint: "http://127.0.0.1:\(gatePort)").merging(
                ["ARTIFACTS_CACHE_DIR": gateDirectory.appendingPathComponent("cache").path]
            ) { $1 })
        do {
            _ = try await trio.get("\(trio.vcsURL)/checkout")
            let first = try await trio.waitForServedPR(1)
            try FileManager.default.removeItem(at: open)
            _ = try await Trio.exampleRepo("merge-next", trio.modelRepository)
            _ = try await trio.get("\(trio.vcsURL)/checkout")
            let details = try await eventually(timeout: 60, "readiness naming the store unreachable") {
                let (status, body) = try await trio.get("\(trio.servingURL)/health/ready")
                let store = body["details"]?["artifact_store"]?.stringValue ?? ""
                return status == 200 && store.hasPrefix("unreachable") ? body : nil
            }
            #expect(details["status"]?.stringValue == "ready", "a replica that answers stays in rotation")
            let sample = try String(
                contentsOf: Trio.repositoryRoot.appendingPathComponent("deploy/example-model/sample-request.json"),
                encoding: .utf8)
            let (status, answer) = try await trio.post("\(trio.servingURL)/predict", body: sample)
            #expect(status == 200)
            #expect(answer["model_version"]?.stringValue == first["version"]?.stringValue)
            let metrics = try await trio.http.send(CurlRequest(url: "\(trio.servingURL)/metrics")).text
            #expect(metrics.contains("conveyor_artifact_store_reachable 0"), "\(metrics.suffix(2000))")
            // Back: the waiting deployment applies.
            FileManager.default.createFile(atPath: open.path, contents: Data())
            _ = try await trio.waitForServedPR(2, timeout: 60)
            let (_, ready) = try await trio.get("\(trio.servingURL)/health/ready")
            #expect(ready["details"]?["artifact_store"]?.stringValue == "reachable")
        } catch {
            Issue.record("\(error)\n\(trio.logs())\n\(gate.logTail())")
        }
        _ = await trio.stop()
    }

    @Test("a corrupt object is refused naming the file; a version never finished is never loaded and is cleaned up")
    func corruptAndUnfinishedVersions() async throws {
        let store = try await TestObjectStore.shared()
        let prefix = "unit-\(UUID().uuidString.prefix(8).lowercased())"
        let location = ArtifactLocation.s3(try S3Location(bucket: TestObjectStore.bucket, prefix: prefix))
        let root = try Self.scratch("storage")
        defer { try? FileManager.default.removeItem(at: root) }
        func storage(_ cache: String) throws -> ArtifactStorage {
            ArtifactStorage(
                location: location, cacheDirectory: root.appendingPathComponent(cache), settings: try store.settings,
                http: store.http)
        }
        let writer = try storage("writer")
        let version = writer.local.appendingPathComponent("model/v1")
        try FileManager.default.createDirectory(at: version, withIntermediateDirectories: true)
        try Data("{\"a\": 1}".utf8).write(to: version.appendingPathComponent("model.json"))
        try Data((0..<4096).map { UInt8($0 % 251) }).write(to: version.appendingPathComponent("trees.bin"))
        try await writer.publish("model/v1")

        let reader = try storage("reader")
        let copy = try await reader.directory("model/v1")
        #expect(try Data(contentsOf: copy.appendingPathComponent("trees.bin")).count == 4096)

        // The object changed after publishing: its completion record says otherwise.
        let client = try store.client()
        _ = try await client.put("\(prefix)/model/v1/trees.bin", data: Array("tampered".utf8))
        do {
            _ = try await storage("fresh").directory("model/v1")
            Issue.record("a corrupt version was loaded")
        } catch let unavailable as ArtifactUnavailable {
            #expect(unavailable.reason.contains("trees.bin has sha256"), "\(unavailable)")
            #expect(!unavailable.storeUnreachable)
        }

        // A trainer killed mid-upload: files, no completion record.
        _ = try await client.put("\(prefix)/model/v2/model.json", data: Array("{}".utf8))
        do {
            _ = try await storage("fresh-2").directory("model/v2")
            Issue.record("an unfinished version was loaded")
        } catch let unavailable as ArtifactUnavailable {
            #expect(unavailable.reason.contains("not complete"), "\(unavailable)")
        }
        #expect(try await writer.removeIncomplete { _ in false } == ["model/v2"])
        let left = try await client.list(prefix: "\(prefix)/")
        #expect(!left.contains { $0.contains("/v2/") } && left.contains { $0.contains("/v1/") }, "\(left)")
    }

    @Test("trainer train --output s3://… publishes a complete version a replica can load")
    func cliPublishes() async throws {
        let store = try await TestObjectStore.shared()
        let prefix = "cli-\(UUID().uuidString.prefix(8).lowercased())"
        let work = try Self.scratch("cli")
        defer { try? FileManager.default.removeItem(at: work) }
        let repository = work.appendingPathComponent("repo")
        _ = try await Trio.exampleRepo("init", repository)
        let trainer = LaunchedProcess.binDirectory.appendingPathComponent("trainer").path
        let result = try await CommandRunner.output(
            [
                trainer, "train", "--repo", repository.path, "--version", "cli-1", "--output",
                "s3://\(TestObjectStore.bucket)/\(prefix)",
            ], environment: Self.settings(store, prefix: prefix))
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("artifact: s3://\(TestObjectStore.bucket)/\(prefix)/"), "\(result.stdout)")
        let keys = try await store.client().list(prefix: prefix + "/")
        let path = try #require(
            keys.first { $0.hasSuffix("/" + ArtifactCompletion.objectName) }.map {
                String($0.dropFirst(prefix.count + 1).dropLast(ArtifactCompletion.objectName.count + 1))
            })
        let reader = ArtifactStorage(
            location: .s3(try S3Location(bucket: TestObjectStore.bucket, prefix: prefix)),
            cacheDirectory: work.appendingPathComponent("cache"), settings: try store.settings, http: store.http)
        let directory = try await reader.directory(path)
        let artifact = try ArtifactStore.load(from: directory, expectedSHA256: nil)
        #expect(artifact.version == "cli-1")
    }
}

/// A thread-safe count of failures.
private final class FailureCount: Sendable {
    private let count = Mutex(0)
    func add() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}
