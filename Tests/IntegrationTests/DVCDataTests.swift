import Crypto
import Foundation
import HTTPClient
import Learning
import Subprocess
import Testing

@testable import TrainerService

/// DVC-tracked data (issue 34): repositories made by the real `dvc` (PyPI's, `CONVEYOR_DVC`:
/// `dvc init`, `dvc add`, `dvc push` to a local directory and to the test object store, or a
/// `dvc.lock` stage), cloned without the data, and the data read back by Conveyor without a
/// `dvc` binary: the md5 DVC recorded checked, the pipeline trained on exactly those bytes.
@Suite("DVC-tracked data, fetched from the remote without dvc", .serialized)
struct DVCDataTests {
    static let dvc: String? = {
        let environment = ProcessInfo.processInfo.environment
        if let dvc = environment["CONVEYOR_DVC"], !dvc.isEmpty { return dvc }
        let local = Trio.repositoryRoot.appendingPathComponent(".local/dvc-venv/bin/dvc").path
        return FileManager.default.isExecutableFile(atPath: local) ? local : nil
    }()

    /// Where dvc is installed, and always in CI (where its absence fails the test).
    static let enabled = dvc != nil || ProcessInfo.processInfo.environment["CI"] == "true"

    static let manifest = """
        name: dvc-model
        task: regression
        data: {train: data/train.csv, test: data/test.csv}
        target: y
        features:
          - {name: a, type: numeric}
          - {name: b, type: numeric}
        model: {algorithm: linear_regression}
        gates: {}
        """

    static func rows(_ range: Range<Int>) -> Data {
        let lines = range.map { i in "\(i % 7),\(i % 5),\(2 * (i % 7) - (i % 5) + 1)" }
        return Data(("a,b,y\n" + lines.joined(separator: "\n") + "\n").utf8)
    }

    /// A repository with `data/train.csv` and `data/test.csv` tracked by dvc and pushed to
    /// `remote`, then a clone of it (which has the `.dvc` files, not the data).
    static func repository(
        in directory: URL, remote: String, s3: TestObjectStore? = nil, stage: Bool = false
    ) async throws -> URL {
        let dvc = try #require(Self.dvc, "the real dvc (deploy/local.sh test installs it: CONVEYOR_DVC)")
        let source = directory.appendingPathComponent("source", isDirectory: true)
        let data = source.appendingPathComponent("data", isDirectory: true)
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        try Self.manifest.write(to: source.appendingPathComponent("conveyor.yaml"), atomically: true, encoding: .utf8)
        try Self.rows(0..<150).write(to: data.appendingPathComponent("train.csv"))
        var arguments = [
            "python3", Trio.repositoryRoot.appendingPathComponent("Tests/Fixtures/dvc_repo.py").path, "--dvc", dvc,
            "--repo", source.path, "--remote", remote, "--track", "data/train.csv",
        ]
        if stage {
            // data/test.csv is a pipeline output: recorded in dvc.lock, not in a .dvc file.
            let command =
                "python3 -c \"open('data/test.csv','w').write(open('data/train.csv').read()[:60] + '99,1,9\\n')\""
            arguments += ["--stage", "make-test", "data/test.csv", command]
        } else {
            try Self.rows(150..<200).write(to: data.appendingPathComponent("test.csv"))
            arguments += ["--track", "data/test.csv"]
        }
        if let s3 {
            arguments += [
                "--endpoint", s3.endpoint, "--access-key", TestObjectStore.accessKeyID, "--secret-key",
                s3.secretAccessKey,
            ]
        }
        for git in [
            ["init", "-q"], ["config", "user.name", "Conveyor Tests"],
            ["config", "user.email", "tests@conveyor.invalid"],
            ["add", "conveyor.yaml"], ["commit", "-q", "-m", "The model"],
        ] {
            let done = try await CommandRunner.output(["git", "-C", source.path] + git)
            try #require(done.status == 0, "git \(git): \(done.stderr)")
        }
        let made = try await CommandRunner.output(arguments)
        try #require(made.status == 0, "dvc_repo.py: \(made.stderr)")
        let clone = directory.appendingPathComponent("checkout", isDirectory: true)
        let cloned = try await CommandRunner.output(["git", "clone", "-q", source.path, clone.path])
        try #require(cloned.status == 0, "\(cloned.stderr)")
        #expect(!FileManager.default.fileExists(atPath: clone.appendingPathComponent("data/train.csv").path))
        return clone
    }

    static func md5(_ data: Data) -> String {
        Insecure.MD5.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }

    static func fetcher(_ directory: URL, localRoots: [URL] = [], s3: TestObjectStore? = nil) throws -> DataFetcher {
        DataFetcher(
            http: s3?.http ?? CurlHTTPClient(concurrency: 2), s3: try s3?.settings, localRoots: localRoots,
            maxBytes: 1 << 20, cache: DataCache(directory: directory.appendingPathComponent("cache"), capacity: 1 << 30)
        )
    }

    /// Fetches the clone's data, then trains on it; the pipeline must have read exactly the pushed bytes.
    static func fetchAndTrain(_ clone: URL, fetcher: DataFetcher, into directory: URL, train: Data, test: Data)
        async throws -> [DataLineage]
    {
        let manifest = try Manifest.parse(Self.manifest)
        var lines: [String] = []
        let (files, lineage) = try await RunData(fetcher: fetcher).fetch(
            manifest, repository: clone, into: directory.appendingPathComponent("fetched"), log: { lines.append($0) })
        #expect(try Data(contentsOf: #require(files["data.train"])) == train)
        #expect(try Data(contentsOf: #require(files["data.test"])) == test)
        let pipeline = TrainingPipeline(repository: clone, fetchedData: files)
        let outcome = try await BlockingWork.run {
            try pipeline.run(version: "v-dvc", baseline: nil, log: { _ in })
        }
        #expect(
            outcome.fingerprint.sha256 == DataFingerprint(files: [train, test], rows: 0).sha256,
            "trained on these bytes")
        #expect(lines.count == 2, "a log line per fetched file: \(lines)")
        return lineage
    }

    @Test("a local remote: dvc add + push, cloned, fetched by md5 (checked against dvc's .dvc file) and trained on")
    func localRemote() async throws {
        guard Self.enabled else { return }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "conveyor-dvc-\(UUID().uuidString.prefix(8))", isDirectory: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let remote = directory.appendingPathComponent("remote", isDirectory: true)
        let clone = try await Self.repository(in: directory, remote: remote.path)
        let (train, test) = (Self.rows(0..<150), Self.rows(150..<200))
        let dvcFile = try String(contentsOf: clone.appendingPathComponent("data/train.csv.dvc"), encoding: .utf8)
        #expect(dvcFile.contains("md5: \(Self.md5(train))"), "dvc's md5 is the bytes' md5: \(dvcFile)")

        // Without the remote among DATA_LOCAL_ROOTS, a local remote is refused, naming why.
        let refused = await #expect(throws: TrainingFailure.self) {
            _ = try await RunData(fetcher: try Self.fetcher(directory)).fetch(
                try Manifest.parse(Self.manifest), repository: clone, into: directory.appendingPathComponent("x"),
                log: { _ in })
        }
        #expect(refused?.stage == .data && refused?.reason.contains("DATA_LOCAL_ROOTS") == true)

        let lineage = try await Self.fetchAndTrain(
            clone, fetcher: try Self.fetcher(directory, localRoots: [remote]), into: directory, train: train,
            test: test)
        #expect(lineage.map(\.source) == ["dvc", "dvc"])
        #expect(lineage.map(\.md5) == [Self.md5(train), Self.md5(test)])
        #expect(lineage.map(\.bytes) == [Int64(train.count), Int64(test.count)])
        #expect(lineage[0].url.hasSuffix("/files/md5/\(Self.md5(train).prefix(2))/\(Self.md5(train).dropFirst(2))"))

        // The object gone from the remote: the run fails naming the md5 and the remote.
        let object = remote.appendingPathComponent(
            "files/md5/\(Self.md5(test).prefix(2))/\(Self.md5(test).dropFirst(2))")
        try FileManager.default.removeItem(at: object)
        let missing = await #expect(throws: TrainingFailure.self) {
            _ = try await RunData(
                fetcher: try Self.fetcher(directory.appendingPathComponent("fresh"), localRoots: [remote])
            )
            .fetch(
                try Manifest.parse(Self.manifest), repository: clone, into: directory.appendingPathComponent("y"),
                log: { _ in })
        }
        let reason = missing?.reason ?? ""
        #expect(
            reason.contains(Self.md5(test)) && reason.contains("\"storage\"") && reason.contains("no such file"),
            "\(reason)")
    }

    @Test("an S3 remote (the test object store): dvc push with its own credentials; Conveyor reads with the store's")
    func s3Remote() async throws {
        guard Self.enabled, TestObjectStore.enabled else { return }
        let store = try await TestObjectStore.shared()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "conveyor-dvc-s3-\(UUID().uuidString.prefix(8))", isDirectory: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let prefix = "dvc-\(UUID().uuidString.prefix(8))"
        let clone = try await Self.repository(
            in: directory, remote: "s3://\(TestObjectStore.bucket)/\(prefix)", s3: store)
        let config = try String(contentsOf: clone.appendingPathComponent(".dvc/config"), encoding: .utf8)
        #expect(!config.contains(store.secretAccessKey), "credentials are never committed")
        let (train, test) = (Self.rows(0..<150), Self.rows(150..<200))
        let lineage = try await Self.fetchAndTrain(
            clone, fetcher: try Self.fetcher(directory, s3: store), into: directory, train: train, test: test)
        #expect(
            lineage.map(\.url)
                == [train, test].map {
                    "s3://\(TestObjectStore.bucket)/\(prefix)/files/md5/\(Self.md5($0).prefix(2))/\(Self.md5($0).dropFirst(2))"
                })
    }

    @Test("a dvc.lock output (a pipeline stage's file, pushed by dvc) is fetched like a .dvc file's")
    func lockFileOutput() async throws {
        guard Self.enabled else { return }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "conveyor-dvc-lock-\(UUID().uuidString.prefix(8))", isDirectory: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let remote = directory.appendingPathComponent("remote", isDirectory: true)
        let clone = try await Self.repository(in: directory, remote: remote.path, stage: true)
        let train = Self.rows(0..<150)
        let test = Data((String(decoding: train, as: UTF8.self).prefix(60) + "99,1,9\n").utf8)
        let lock = try String(contentsOf: clone.appendingPathComponent("dvc.lock"), encoding: .utf8)
        #expect(lock.contains("md5: \(Self.md5(test))"), "\(lock)")
        let manifest = try Manifest.parse(Self.manifest)
        let (files, lineage) = try await RunData(fetcher: try Self.fetcher(directory, localRoots: [remote])).fetch(
            manifest, repository: clone, into: directory.appendingPathComponent("fetched"), log: { _ in })
        #expect(try Data(contentsOf: #require(files["data.test"])) == test)
        #expect(lineage.map(\.md5) == [Self.md5(train), Self.md5(test)])
    }
}
