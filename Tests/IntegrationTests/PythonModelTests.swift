import Foundation
import JSON
import Learning
import Subprocess
import Testing
import TrainerService

/// Repositories' own Python models (issue 31), trained by the pipeline in the
/// sandbox and served by real `serving` processes through pools of sandboxed
/// workers: served answers must equal the oracle (the artifact's pickle loaded
/// in the same environment and the module's own `predict` called directly,
/// `Tests/Fixtures/python_oracle.py`), misbehaving model code must cost only
/// its own request, and a swap under load must drop nothing.
@Suite("Python models: trained, served exactly, failures contained", .serialized)
struct PythonModelTests {
    /// The trainer's environments, shared by the tests of this run (built once per requirements).
    static let environments = FileManager.default.temporaryDirectory.appendingPathComponent(
        "conveyor-test-python-environments", isDirectory: true)

    static func fixture(_ name: String, into directory: URL) throws -> URL {
        let source = Trio.repositoryRoot.appendingPathComponent("Tests/Fixtures/python_models/\(name)")
        let copy = directory.appendingPathComponent("repo-\(name)-\(UUID().uuidString.prefix(6))")
        try FileManager.default.copyItem(at: source, to: copy)
        return copy
    }

    /// Every row of `csv` as `/predict` instances (values as the CSV gives them, typed by the manifest).
    static func instances(_ csv: URL, manifest: Manifest) throws -> String {
        let table = try CSVTable(bytes: Array(try Data(contentsOf: csv)))
        let rows = (0..<table.rowCount).map { row in
            "{"
                + manifest.features.map { feature in
                    let raw = table.field(row: row, column: table.column(feature.name)!)
                    let value: FeatureValue =
                        CSVTable.isMissing(raw)
                        ? .missing : feature.type == .boolean ? .bool(raw == "true") : .text(raw)
                    return JSONText.quoted(feature.name) + ":" + value.canonicalJSON(type: feature.type)
                }.joined(separator: ",") + "}"
        }
        return #"{"instances":["# + rows.joined(separator: ",") + "]}"
    }

    /// Every row of `csv` as one `[N, F]` BYTES tensor of an Open Inference Protocol request.
    static func tensor(_ csv: URL, manifest: Manifest) throws -> String {
        let table = try CSVTable(bytes: Array(try Data(contentsOf: csv)))
        let values = (0..<table.rowCount).flatMap { row in
            manifest.features.map { feature in
                let raw = table.field(row: row, column: table.column(feature.name)!)
                return (CSVTable.isMissing(raw) ? FeatureValue.missing : .text(raw)).canonicalJSON(type: feature.type)
            }
        }
        return #"{"inputs": [{"name": "input-0", "datatype": "BYTES", "shape": ["#
            + "\(table.rowCount), \(manifest.features.count)], \"data\": [" + values.joined(separator: ",") + "]}]}"
    }

    /// What the oracle answers, run with the interpreter of the environment the model was trained in.
    static func oracle(repository: URL, artifact: URL, arguments: [String]) async throws -> JSONValue {
        let manifest = try Manifest.parse(
            String(decoding: try Data(contentsOf: repository.appendingPathComponent("conveyor.yaml")), as: UTF8.self))
        let requirements = try Data(
            contentsOf: repository.appendingPathComponent(manifest.model.requirements ?? "requirements.txt"))
        let environment = try #require(
            try PythonEnvironments(root: environments).existing(
                requirements: PythonEnvironments.withPandas(requirements)))
        let script = Trio.repositoryRoot.appendingPathComponent("Tests/Fixtures/python_oracle.py").path
        let result = try await CommandRunner.output(
            [environment.appendingPathComponent("bin/python3").path, script, artifact.path] + arguments)
        #expect(result.status == 0, "\(result.stderr.suffix(2000))")
        return try JSONValue.parse(Array(result.stdout.utf8))
    }

    @Test(
        "a replica that never saw the environment builds it from the frozen requirements; answers equal the oracle's exactly"
    )
    func servedAnswersEqualTheOracle() async throws {
        let fixture = try await ServingFixture()
        defer { Task { await fixture.shutdown() } }
        // The replica's own environments: it has never seen the trainer's.
        let replicaEnvironments = fixture.directory.appendingPathComponent("replica-environments")
        var pr: Int64 = 1
        var serving: (LaunchedProcess, String)?
        defer { _ = serving?.0.terminate() }
        for name in ["regressor", "classifier", "pipeline", "forecaster"] {
            let repository = try Self.fixture(name, into: fixture.directory)
            let manifest = try Manifest.parse(
                String(
                    decoding: try Data(contentsOf: repository.appendingPathComponent("conveyor.yaml")), as: UTF8.self))
            let version = try await fixture.deploy(
                repository: repository, pr: pr, pythonEnvironments: Self.environments)
            pr += 1
            if serving == nil {
                serving = try await fixture.launchServing(
                    "serving-python",
                    settings: ["PYTHON_ENVIRONMENTS": replicaEnvironments.path, "PYTHON_WORKERS": "2"])
                // Until the environment is built the replica says why it is not serving the version.
                let said = try await eventually(timeout: 300, "the replica to build the environment or serve") {
                    () async throws -> String? in
                    let (_, ready) = try await fixture.json("GET", "\(serving!.1)/health/ready")
                    let python = ready["details"]?["python"]?.stringValue ?? ""
                    if python.contains("building its Python environment") { return python }
                    let (_, home) = try await fixture.json("GET", "\(serving!.1)/")
                    return home["version"]?.stringValue == version ? "served before it was seen building" : nil
                }
                // The readiness detail is seen while the build runs; on a loaded machine the poll can
                // miss it (a full run at 1fe5365+ saw only the served version), so the replica's log,
                // which records every build, is the durable witness.
                let log = (try? String(contentsOf: serving!.0.logFile, encoding: .utf8)) ?? ""
                #expect(
                    said.contains("building its Python environment from its frozen requirements")
                        || log.contains("building a Python environment for a version this host has not run"),
                    "\(said)")
            }
            let url = serving!.1
            try await fixture.waitForVersion(version, at: url, timeout: 600)
            let (_, home) = try await fixture.json("GET", "\(url)/")
            #expect(home["format"]?.stringValue == "python" && home["python"]?["module"]?.stringValue == "main.py")
            #expect(home["python"]?["workers"]?.integerValue == 2, "\(home)")
            let artifact = fixture.artifacts.appendingPathComponent("\(manifest.name)/\(version)")
            let test = repository.appendingPathComponent(manifest.data.test!.path!)
            if manifest.task == .forecast {
                let expected = try await Self.oracle(
                    repository: repository, artifact: artifact, arguments: ["--horizon", "30"])
                let (status, body) = try await fixture.json("POST", "\(url)/predict", body: #"{"horizon": 30}"#)
                #expect(status == 200, "\(body)")
                let values = body["forecast"]?.arrayValue?.compactMap { $0["value"]?.doubleValue } ?? []
                #expect(values == expected["predictions"]?.arrayValue?.compactMap(\.doubleValue), "\(name)")
                // The module continues after its training data (which ends on 2024-11-30).
                #expect(body["forecast"]?.arrayValue?.first?["date"]?.stringValue == "2024-12-01", "\(body)")
                continue
            }
            let train = repository.appendingPathComponent(manifest.data.train!.path!)
            let expected = try await Self.oracle(
                repository: repository, artifact: artifact, arguments: [test.path, "--classes", train.path])
            let (status, body) = try await fixture.json(
                "POST", "\(url)/predict", body: try Self.instances(test, manifest: manifest))
            #expect(status == 200, "\(name): \(body)")
            let predictions = body["predictions"]?.arrayValue ?? []
            let oracle = expected["predictions"]?.arrayValue ?? []
            #expect(predictions.count == oracle.count && !oracle.isEmpty, "\(name)")
            if manifest.task == .classification {
                #expect(predictions.map { $0["label"]?.stringValue } == oracle.map(\.stringValue), "\(name)")
                // The CSV route: the same rows as a file, the same labels.
                let csv = try await fixture.request(
                    "POST", "\(url)/predict", body: String(decoding: try Data(contentsOf: test), as: UTF8.self),
                    contentType: "text/csv")
                let lines = String(decoding: csv.body, as: UTF8.self).split(separator: "\n").dropFirst()
                #expect(csv.status.code == 200, "\(name): \(lines.prefix(3))")
                #expect(
                    lines.map { String($0.split(separator: ",").first ?? "") } == oracle.map { $0.stringValue ?? "" })
                // The Open Inference Protocol: one [N, F] tensor in feature order, the same labels.
                let (inferStatus, inferred) = try await fixture.json(
                    "POST", "\(url)/v2/models/\(manifest.name)/infer", body: try Self.tensor(test, manifest: manifest))
                #expect(inferStatus == 200, "\(inferred)")
                let labels = inferred["outputs"]?.arrayValue?.first { $0["name"]?.stringValue == "label" }?["data"]
                #expect(labels?.arrayValue?.map(\.stringValue) == oracle.map(\.stringValue), "\(name)")
                if let probabilities = expected["probabilities"]?.arrayValue {
                    let classes = (predictions.first?["probabilities"]?.objectValue?.keys).map { $0.sorted() } ?? []
                    let served = predictions.map { row in
                        classes.map { row["probabilities"]?[$0]?.doubleValue ?? .nan }
                    }
                    #expect(served == probabilities.map { $0.arrayValue?.compactMap(\.doubleValue) ?? [] }, "\(name)")
                }
            } else {
                #expect(predictions.map(\.doubleValue) == oracle.map(\.doubleValue), "\(name)")
            }
        }
    }

    @Test("a raising, dying, hanging or contract-breaking predict costs its own request; the workers run as nobody")
    func misbehavingCodeCostsItsOwnRequest() async throws {
        let fixture = try await ServingFixture()
        defer { Task { await fixture.shutdown() } }
        let repository = try Self.fixture("misbehaving", into: fixture.directory)
        let version = try await fixture.deploy(repository: repository, pr: 1, pythonEnvironments: Self.environments)
        let (process, url) = try await fixture.launchServing(
            "serving-misbehaving",
            settings: [
                "PYTHON_ENVIRONMENTS": Self.environments.path, "PYTHON_WORKERS": "2", "PYTHON_PREDICT_TIMEOUT": "2s",
            ])
        defer { _ = process.terminate() }
        try await fixture.waitForVersion(version, at: url, timeout: 300)
        func predict(_ x: Double) async throws -> (Int, String) {
            let (status, body) = try await fixture.json(
                "POST", "\(url)/predict", body: #"{"x": \#(x), "note": "a"}"#)
            return (status, body["error"]?["message"]?.stringValue ?? "\(body)")
        }
        #expect(try await predict(1).0 == 200)

        let raised = try await predict(13)
        #expect(
            raised.0 == 500 && raised.1.contains("ValueError") && raised.1.contains("x == 13 is unlucky"), "\(raised)")
        #expect(try await predict(1).0 == 200)
        let short = try await predict(21)
        #expect(short.0 == 500 && short.1.contains("predict returned"), "\(short)")
        let text = try await predict(55)
        #expect(text.0 == 500 && text.1.contains("predict"), "\(text)")
        let nan = try await predict(99)
        #expect(nan.0 == 500 && nan.1.lowercased().contains("finite"), "\(nan)")

        // A worker that dies: its request gets a 503, the next requests are answered.
        let died = try await predict(66)
        #expect(died.0 == 503 && died.1.contains("died"), "\(died)")
        #expect(try await predict(1).0 == 200)

        // A hang: 504 after PYTHON_PREDICT_TIMEOUT, while the other worker answers meanwhile.
        async let hung = predict(77)
        let during = try await predict(2)
        #expect(during.0 == 200, "\(during)")
        let timedOut = try await hung
        #expect(timedOut.0 == 504 && timedOut.1.contains("PYTHON_PREDICT_TIMEOUT"), "\(timedOut)")
        #expect(try await predict(1).0 == 200)

        // Replaced workers are counted; the traceback is in the log with the request id.
        _ = try await eventually(timeout: 60, "the restarts to be counted") { () async throws -> Bool? in
            let metrics = String(decoding: try await fixture.request("GET", "\(url)/metrics").body, as: UTF8.self)
            let died = metrics.contains(#"conveyor_python_worker_restarts_total{reason="died"} 1"#)
            let timeout = metrics.contains(#"conveyor_python_worker_restarts_total{reason="timeout"} 1"#)
            return died && timeout ? true : nil
        }
        let log = try String(contentsOf: process.logFile, encoding: .utf8)
        #expect(log.contains("x == 13 is unlucky") && log.contains("request_id") && log.contains("raise ValueError"))

        // The workers run as nobody (the tests run as root), holding no socket of serving's.
        let workers = try await eventually(timeout: 60, "two live workers again") { () -> [Int32]? in
            let found = Self.workerProcesses(of: process.pid)
            return found.count == 2 ? found : nil
        }
        for pid in workers {
            let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
            let uid: Substring = status.split(separator: "\n").first { $0.hasPrefix("Uid:") } ?? ""
            if geteuid() == 0 { #expect(uid.split(separator: "\t").dropFirst().first == "65534", "\(uid)") }
            let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
            let sockets = descriptors.filter {
                ((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\($0)")) ?? "")
                    .hasPrefix("socket:")
            }
            #expect(sockets.isEmpty, "worker \(pid) holds sockets \(sockets)")
        }

        // A worker killed while idle costs no request: the pool sees it gone and replaces it.
        let victim = try #require(workers.first)
        let sandbox = try #require(Self.ancestor(of: victim, below: process.pid))
        kill(victim, SIGKILL)
        _ = try await eventually(timeout: 30, "the killed worker's sandbox to be reaped") {
            FileManager.default.fileExists(atPath: "/proc/\(sandbox)") ? nil : true
        }
        for x in [1.0, 2, 3, 4] {
            let answer = try await predict(x)
            #expect(answer.0 == 200, "after an idle worker died: \(answer)")
        }
    }

    /// The process below `top` in `pid`'s chain of parents (the sandbox serving started).
    static func ancestor(of pid: Int32, below top: Int32) -> Int32? {
        var current = pid
        for _ in 0..<8 {
            guard let stat = try? String(contentsOfFile: "/proc/\(current)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")"),
                let parent = stat[stat.index(after: close)...].split(separator: " ").dropFirst().first.flatMap({
                    Int32($0)
                })
            else { return nil }
            if parent == top { return current }
            current = parent
        }
        return nil
    }

    @Test("a swap between Python versions under load answers every request; the old workers stop")
    func hotSwapUnderLoad() async throws {
        let fixture = try await ServingFixture()
        defer { Task { await fixture.shutdown() } }
        let repository = try Self.fixture("misbehaving", into: fixture.directory)
        let first = try await fixture.deploy(repository: repository, pr: 1, pythonEnvironments: Self.environments)
        let (process, url) = try await fixture.launchServing(
            "serving-swap", settings: ["PYTHON_ENVIRONMENTS": Self.environments.path, "PYTHON_WORKERS": "2"])
        defer { _ = process.terminate() }
        try await fixture.waitForVersion(first, at: url, timeout: 300)
        let before = Set(Self.workerProcesses(of: process.pid))
        #expect(before.count == 2)
        let seen = SeenVersions()
        let load = Task { () -> (failures: [String], versions: Set<String>) in
            var failures: [String] = []
            var versions = Set<String>()
            while !Task.isCancelled {
                try? await withThrowingTaskGroup(of: (Int, String).self) { group in
                    for x in 1...4 {
                        group.addTask {
                            let response = try await fixture.request(
                                "POST", "\(url)/predict", body: #"{"x": \#(x), "note": "b"}"#)
                            let version = (try? JSONValue.parse(response.body))?["model_version"]?.stringValue
                            return (response.status.code, version ?? "")
                        }
                    }
                    for try await (status, version) in group {
                        if status != 200 { failures.append("\(status)") }
                        versions.insert(version)
                        seen.insert(version)
                    }
                }
            }
            return (failures, versions)
        }
        let second = try await fixture.deploy(repository: repository, pr: 2, pythonEnvironments: Self.environments)
        try await fixture.waitForVersion(second, at: url, timeout: 300)
        // Some load on the new version too.
        _ = try await eventually(timeout: 30, "requests answered by the new version") { () async throws -> Bool? in
            let response = try await fixture.request("POST", "\(url)/predict", body: #"{"x": 3, "note": "c"}"#)
            return (try? JSONValue.parse(response.body))?["model_version"]?.stringValue == second ? true : nil
        }
        // The load itself reaches the new version before it stops (its batch in flight at the
        // swap may still be the old one's).
        _ = try await eventually(timeout: 30, "the load answered by the new version") { () -> Bool? in
            seen.contains(second) ? true : nil
        }
        load.cancel()
        let result = await load.value
        #expect(result.failures.isEmpty, "\(result.failures.count) failed: \(result.failures.prefix(5))")
        #expect(result.versions.contains(first) && result.versions.contains(second), "\(result.versions)")
        // The old version's workers are gone once its last request was answered.
        let after = try await eventually(timeout: 30, "the old workers to stop") { () -> Set<Int32>? in
            let now = Set(Self.workerProcesses(of: process.pid))
            return now.isDisjoint(with: before) && now.count == 2 ? now : nil
        }
        #expect(after.count == 2)
    }

    @Test(
        "concurrent requests are coalesced into batches; each gets its own answer and log row; a raising row is isolated"
    )
    func adaptiveBatching() async throws {
        let fixture = try await ServingFixture()
        defer { Task { await fixture.shutdown() } }
        let repository = try Self.fixture("doubler", into: fixture.directory)
        let version = try await fixture.deploy(repository: repository, pr: 1, pythonEnvironments: Self.environments)
        // One worker whose every call takes 50 ms: concurrent requests queue behind it.
        let (process, url) = try await fixture.launchServing(
            "serving-batching",
            settings: [
                "PYTHON_ENVIRONMENTS": Self.environments.path, "PYTHON_WORKERS": "1", "PYTHON_MAX_BATCH": "16",
            ])
        defer { _ = process.terminate() }
        try await fixture.waitForVersion(version, at: url, timeout: 300)
        let xs = Array(1...48)
        let answers = try await withThrowingTaskGroup(of: (Int, Int, JSONValue).self) { group in
            for x in xs {
                group.addTask {
                    let (status, body) = try await fixture.json(
                        "POST", "\(url)/predict", body: #"{"x": \#(x), "note": "a"}"#)
                    return (x, status, body)
                }
            }
            return try await group.reduce(into: [:]) { $0[$1.0] = ($1.1, $1.2) }
        }
        for x in xs {
            let (status, body) = try #require(answers[x])
            if x == 13 {
                #expect(status == 500, "\(body)")
                #expect(body["error"]?["message"]?.stringValue?.contains("x == 13 is unlucky") == true, "\(body)")
            } else {
                #expect(status == 200 && body["prediction"]?.doubleValue == Double(2 * x), "x=\(x): \(body)")
            }
        }
        // Fewer calls than requests (batches formed), never more rows in one than PYTHON_MAX_BATCH.
        let metrics = String(decoding: try await fixture.request("GET", "\(url)/metrics").body, as: UTF8.self)
        func value(_ name: String) -> Double? {
            metrics.split(separator: "\n").first { $0.hasPrefix(name + " ") }
                .flatMap { Double($0.split(separator: " ").last ?? "") }
        }
        let calls = try #require(value("conveyor_python_batch_rows_count"), "\(metrics.prefix(2000))")
        let rows = try #require(value("conveyor_python_batch_rows_sum"))
        #expect(calls < Double(xs.count), "\(calls) calls for \(xs.count) requests")
        #expect(rows >= Double(xs.count), "\(rows) rows")
        #expect(value(#"conveyor_python_batch_rows_bucket{le="16.0"}"#) == calls)
        // Every answered request has its own prediction_log row, under its own request id.
        let logged = try await eventually(timeout: 30, "the prediction_log rows") { () async throws -> Int? in
            let count = try await fixture.database.query(
                "SELECT count(DISTINCT request_id) AS n FROM prediction_log WHERE model_version = \(version)"
            ).first?.decode("n", as: Int.self)
            return count == xs.count - 1 ? count : nil
        }
        #expect(logged == xs.count - 1)
    }

    @Test(
        "an MLflow model, committed or written by train:, serves the answers of mlflow.pyfunc.load_model(...).predict",
        arguments: ["mlflow_classifier", "mlflow_train"])
    func mlflowModelsServeTheirOwnPredict(name: String) async throws {
        let fixture = try await ServingFixture()
        defer { Task { await fixture.shutdown() } }
        let repository = try Self.fixture(name, into: fixture.directory)
        let manifest = try Manifest.parse(
            String(decoding: try Data(contentsOf: repository.appendingPathComponent("conveyor.yaml")), as: UTF8.self))
        let version = try await fixture.deploy(repository: repository, pr: 1, pythonEnvironments: Self.environments)
        let (process, url) = try await fixture.launchServing(
            "serving-\(name)", settings: ["PYTHON_ENVIRONMENTS": Self.environments.path, "PYTHON_WORKERS": "1"])
        defer { _ = process.terminate() }
        try await fixture.waitForVersion(version, at: url, timeout: 300)
        let artifact = fixture.artifacts.appendingPathComponent("\(manifest.name)/\(version)")
        let test = repository.appendingPathComponent(manifest.data.test!.path!)
        // The oracle runs in the environment built from the model's own requirements.txt.
        let requirements = try Data(contentsOf: artifact.appendingPathComponent("mlflow.requirements.txt"))
        let environment = try #require(
            try PythonEnvironments(root: Self.environments).existing(
                requirements: PythonEnvironments.withPandas(requirements)))
        let script = Trio.repositoryRoot.appendingPathComponent("Tests/Fixtures/python_oracle.py").path
        let result = try await CommandRunner.output(
            [environment.appendingPathComponent("bin/python3").path, script, "--mlflow", artifact.path, test.path])
        #expect(result.status == 0, "\(result.stderr.suffix(2000))")
        let oracle = try JSONValue.parse(Array(result.stdout.utf8))["predictions"]?.arrayValue ?? []
        let (status, body) = try await fixture.json(
            "POST", "\(url)/predict", body: try Self.instances(test, manifest: manifest))
        #expect(status == 200, "\(body)")
        let labels = body["predictions"]?.arrayValue?.map { $0["label"]?.stringValue } ?? []
        #expect(!oracle.isEmpty && labels == oracle.map(\.stringValue), "\(name)")
        let (_, home) = try await fixture.json("GET", "\(url)/")
        #expect(home["format"]?.stringValue == "python", "\(home)")
    }

    @Test(
        "an MLflow signature that disagrees with the features fails the run naming the column",
        arguments: [
            ("{name: island, type: categorical}", "{name: island, type: numeric}", "\"island\" is numeric"),
            (
                "{name: sex, type: categorical}", "{name: sex, type: categorical}\n  - {name: year, type: numeric}",
                "\"year\""
            ),
            ("  - {name: sex, type: categorical}\n", "", "requires \"sex\""),
        ])
    func mlflowSignatureMismatch(original: String, replacement: String, needle: String) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "conveyor-mlflow-signature-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let repository = try Self.fixture("mlflow_classifier", into: directory)
        let file = repository.appendingPathComponent("conveyor.yaml")
        let yaml = try String(contentsOf: file, encoding: .utf8)
        #expect(yaml.contains(original))
        try yaml.replacingOccurrences(of: original, with: replacement).write(
            to: file, atomically: true, encoding: .utf8)
        let pipeline = TrainingPipeline(
            repository: repository, pythonEnvironments: Self.environments,
            scratch: directory.appendingPathComponent("scratch"))
        let failure = try await Self.failure(of: pipeline)
        let reason = try #require(failure, "the run should fail").description
        #expect(reason.contains(needle) && reason.contains("signature"), "\(reason)")
    }

    @Test("a module that breaks the contract fails its run naming the function and the problem")
    func contractBreachesFailTheRun() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "conveyor-python-contract-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let expectations = [
            ("no_predict", ["main.py", "defines no predict"]),
            ("train_raises", ["train", "KeyError", "no_such_column"]),
            ("unpicklable", ["train", "cannot be pickled"]),
        ]
        for (name, needles) in expectations {
            let repository = try Self.fixture(name, into: directory)
            let pipeline = TrainingPipeline(
                repository: repository, pythonEnvironments: Self.environments,
                scratch: directory.appendingPathComponent("scratch-\(name)"))
            let failure = try await Self.failure(of: pipeline)
            let reason = try #require(failure, "\(name) should fail").description
            #expect(failure?.stage == .train, "\(name): \(reason)")
            for needle in needles { #expect(reason.contains(needle), "\(name): \(reason)") }
        }
    }

    /// How the pipeline's run failed (nil when it succeeded), run off the test's executor.
    static func failure(of pipeline: TrainingPipeline) async throws -> TrainingFailure? {
        try await BlockingWork.run { () -> TrainingFailure? in
            do {
                _ = try pipeline.run(version: "v1", baseline: nil, log: { _ in })
                return nil
            } catch let failure as TrainingFailure {
                return failure
            }
        }
    }

    /// Process ids of the `conveyor_worker.py serve` interpreters `serving` started (other
    /// suites run theirs at the same time).
    static func workerProcesses(of serving: Int32) -> [Int32] {
        func parent(_ pid: Int32) -> Int32? {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return nil }
            // "pid (comm) state ppid …": the fields after the command's closing parenthesis.
            return stat[stat.index(after: close)...].split(separator: " ").dropFirst().first.flatMap { Int32($0) }
        }
        func descends(_ pid: Int32) -> Bool {
            var current = pid
            for _ in 0..<8 {
                guard let next = parent(current), next > 1 else { return false }
                if next == serving { return true }
                current = next
            }
            return false
        }
        return allWorkerProcesses().filter(descends)
    }

    /// Process ids of every running `conveyor_worker.py serve` interpreter.
    static func allWorkerProcesses() -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            let arguments = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            return arguments.count > 2 && arguments.contains { $0.hasSuffix("conveyor_worker.py") }
                && arguments.contains("serve") && !arguments[0].hasSuffix("bwrap") && arguments[0] != "/bin/sh"
                && !arguments[0].hasSuffix("setpriv")
        }.sorted()
    }
}
