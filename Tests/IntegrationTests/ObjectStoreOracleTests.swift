import Foundation
import HTTPClient
import JSON
import Subprocess
import Testing

@testable import ObjectStore

extension ObjectStoreTests {
    /// boto3, an S3 client nobody here wrote, against the same server: it lists
    /// and reads what the Swift client wrote, and the Swift client lists and reads
    /// what boto3 wrote (keys needing percent-encoding, multipart on both sides).
    @Suite("Object store: boto3 and the Swift client read each other's objects")
    struct Boto3 {
        /// boto3's Python: `CONVEYOR_S3_PYTHON`, else the one beside the `weed` binary (one venv).
        static let python: String? = {
            if let python = ProcessInfo.processInfo.environment["CONVEYOR_S3_PYTHON"] { return python }
            return TestObjectStore.binary.map {
                URL(fileURLWithPath: $0).deletingLastPathComponent().appendingPathComponent("python").path
            }
        }()

        @Test(
            "boto3 lists and reads what Swift put; Swift lists, gets and downloads what boto3 put",
            ObjectStoreTests.needsServer)
        func eachReadsTheOther() async throws {
            let store = try await TestObjectStore.shared()
            let client = try store.client(multipartThreshold: 5 << 20, partSize: 5 << 20)
            let prefix = ObjectStoreTests.freshPrefix()
            var written: [String: String] = [:]
            for name in ["plain.txt", "with space + plus.txt", "ünïcødé/模型 ☃.onnx", "a&b=c;d?e#f.txt", "x/y/z"] {
                let bytes = Array("written by Swift: \(name)".utf8)
                try await client.put(prefix + "swift/" + name, data: bytes)
                written[prefix + "swift/" + name] = PayloadHash.of(bytes)
            }
            let large = try await ObjectStoreTests.randomFile(size: 11 << 20)
            try await client.put(prefix + "swift/large in parts.bin", file: large)
            written[prefix + "swift/large in parts.bin"] = try await ObjectStoreTests.sha256(large)

            let python = try #require(Self.python, "CONVEYOR_S3_PYTHON names a python with boto3")
            let script = Trio.repositoryRoot.appendingPathComponent("Tests/Fixtures/s3_oracle.py").path
            let result = try await CommandRunner.output(
                [python, script, store.endpoint, TestObjectStore.bucket, prefix],
                environment: [
                    "AWS_ACCESS_KEY_ID": TestObjectStore.accessKeyID, "AWS_SECRET_ACCESS_KEY": store.secretAccessKey,
                ])
            try #require(result.status == 0, "boto3 failed:\n\(result.stderr.suffix(3000))")
            let report = try JSONValue.parse(Array(result.stdout.utf8))
            let listed = try #require(report["listed"]?.objectValue).compactMapValues(\.stringValue)
            #expect(listed == written, "boto3 sees the keys and bytes Swift put")

            let wrote = try #require(report["wrote"]?.objectValue).compactMapValues(\.stringValue)
            #expect(try await client.list(prefix: prefix + "boto3/", pageSize: 2) == wrote.keys.sorted())
            for (key, hash) in wrote {
                let destination = large.deletingLastPathComponent().appendingPathComponent("from-boto3")
                try await client.download(key, to: destination)
                #expect(try await ObjectStoreTests.sha256(destination) == hash, "\(key)")
                if !key.hasSuffix(".bin") { #expect(PayloadHash.of(try await client.get(key)) == hash, "\(key)") }
            }
        }
    }
}
