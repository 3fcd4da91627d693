import Foundation
import JSON
import Subprocess
import Testing

/// A repository's own scikit-learn pipeline, exported to ONNX, goes from a
/// merged pull request to served predictions equal to onnxruntime's.
@Suite("Bring your own model: a committed model.onnx, merged to served", .serialized)
struct BringYourOwnModelTests {
    /// Runs `body` with the trio serving the example's PR #1 and the test venv's python;
    /// a failure records the services' logs.
    static func afterFirstDeployment(_ body: (Trio, String) async throws -> Void) async throws {
        let python = try #require(
            ProcessInfo.processInfo.environment["CONVEYOR_TEST_PYTHON"], "the test venv (deploy/local.sh test)")
        let trio = try await Trio()
        do {
            _ = try await trio.get("\(trio.vcsURL)/checkout")
            _ = try await trio.waitForServedPR(1, timeout: 45)
            try await body(trio, python)
        } catch {
            Issue.record("\(error)\n\(trio.logs())")
        }
        _ = await trio.stop()
    }

    @Test("a scikit-learn Pipeline as ONNX is gated, deployed and served with onnxruntime's predictions")
    func pipelineReachesServing() async throws {
        try await Self.afterFirstDeployment { trio, python in
            let expectedFile = trio.directory.appendingPathComponent("expected.json")
            let export = try await CommandRunner.output([
                python, Trio.repositoryRoot.appendingPathComponent("Tests/Fixtures/onnx_pipeline_repo.py").path,
                trio.directory.appendingPathComponent("onnx-repo").path,
                Trio.repositoryRoot.appendingPathComponent("deploy/example-model/data/seattle-weather.csv").path,
                expectedFile.path,
            ])
            try #require(export.status == 0, "onnx_pipeline_repo.py: \(export.stderr.suffix(2000))")
            let exported = trio.directory.appendingPathComponent("onnx-repo")
            try trio.mergePullRequest(title: "Bring our own scikit-learn pipeline") { repo in
                for name in ["conveyor.yaml", "models", "data"] {
                    try? FileManager.default.removeItem(at: repo.appendingPathComponent(name))
                    try FileManager.default.copyItem(
                        at: exported.appendingPathComponent(name), to: repo.appendingPathComponent(name))
                }
            }
            _ = try await trio.get("\(trio.vcsURL)/checkout")
            let served = try await trio.waitForServedPR(2, timeout: 90)
            #expect(served["format"]?.stringValue == "onnx")
            #expect(served["producer"]?.stringValue?.hasPrefix("skl2onnx") == true)
            #expect(served["opsets"]?["ai.onnx.ml"]?.integerValue != nil, "the ML opset is reported")

            let expected = try JSONValue.parse(Data(contentsOf: expectedFile))
            let instances = try #require(expected["instances"]?.arrayValue)
            let oracle = try #require(expected["predictions"]?.arrayValue).compactMap(\.doubleValue)
            let body = String(
                decoding: try JSONEncoder().encode(JSONValue.object(["instances": .array(instances)])), as: UTF8.self)
            let (status, answer) = try await trio.post("\(trio.servingURL)/predict", body: body)
            #expect(status == 200, "\(answer)")
            let predictions = answer["predictions"]?.arrayValue?.compactMap(\.doubleValue) ?? []
            #expect(predictions.count == oracle.count)
            for (index, (ours, theirs)) in zip(predictions, oracle).enumerated()
            where abs(ours - theirs) > 1e-5 * max(1, abs(theirs)) {
                Issue.record("row \(index): served \(ours), onnxruntime \(theirs)")
                break
            }

            // The forest inside the graph explains its predictions: the trained run computed its
            // covers; imputing, scaling and one-hot columns add up to their feature.
            let first = try #require(instances.first)
            let explainBody = String(
                decoding: try JSONEncoder().encode(
                    JSONValue.object(["instances": .array([first]), "explain": .bool(true)])),
                as: UTF8.self)
            let (explainStatus, explained) = try await trio.post("\(trio.servingURL)/predict", body: explainBody)
            #expect(explainStatus == 200, "\(explained)")
            let explanation = try #require(explained["explanations"]?.arrayValue?.first)
            let parts = try #require(explanation["contributions"]?.objectValue)
            #expect(Set(parts.keys) == ["temp_min", "precipitation", "wind", "weather"])
            let total = parts.values.reduce(try #require(explanation["base_value"]?.doubleValue)) {
                $0 + ($1.doubleValue ?? .nan)
            }
            #expect(abs(total - predictions[0]) <= 1e-5 * max(1, abs(predictions[0])), "\(explained)")

            // The Open Inference Protocol shows the graph's own inputs and accepts them.
            let name = try #require(served["model"]?.stringValue)
            let (_, metadata) = try await trio.get("\(trio.servingURL)/v2/models/\(name)")
            #expect(metadata["platform"]?.stringValue == "onnx")
            let inputs = metadata["inputs"]?.arrayValue ?? []
            #expect(inputs.compactMap { $0["name"]?.stringValue } == ["temp_min", "precipitation", "wind", "weather"])
            #expect(inputs.compactMap { $0["datatype"]?.stringValue } == ["FP32", "FP32", "FP32", "BYTES"])
            #expect(inputs.first?["shape"]?.arrayValue?.compactMap(\.integerValue) == [-1, 1])
            let rows = instances.prefix(3)
            let tensors = ["temp_min", "precipitation", "wind", "weather"].map { column -> JSONValue in
                .object([
                    "name": .string(column), "datatype": .string(column == "weather" ? "BYTES" : "FP32"),
                    "shape": .array([.number(Double(rows.count)), .number(1)]),
                    "data": .array(rows.map { $0[column] ?? .null }),
                ])
            }
            let inferBody = String(
                decoding: try JSONEncoder().encode(JSONValue.object(["inputs": .array(tensors)])), as: UTF8.self)
            let (inferStatus, inferred) = try await trio.post(
                "\(trio.servingURL)/v2/models/\(name)/infer", body: inferBody)
            #expect(inferStatus == 200, "\(inferred)")
            let values = inferred["outputs"]?.arrayValue?.first?["data"]?.arrayValue?.compactMap(\.doubleValue) ?? []
            #expect(values == Array(predictions.prefix(3)), "v2 infer answers as /predict does")
        }
    }

    @Test(
        "the penguins repository's own train.py: merged, trained in a venv built from its requirements, served as onnxruntime predicts"
    )
    func ownTrainingCode() async throws {
        try await Self.afterFirstDeployment { trio, python in
            let example = Trio.repositoryRoot.appendingPathComponent("deploy/example-penguins")
            let start = ContinuousClock.now
            try trio.mergePullRequest(title: "Bring our own training code") { repo in
                for name in try FileManager.default.contentsOfDirectory(atPath: repo.path) where name != ".git" {
                    try FileManager.default.removeItem(at: repo.appendingPathComponent(name))
                }
                for name in try FileManager.default.contentsOfDirectory(atPath: example.path) {
                    try FileManager.default.copyItem(
                        at: example.appendingPathComponent(name), to: repo.appendingPathComponent(name))
                }
            }
            _ = try await trio.get("\(trio.vcsURL)/checkout")
            let served = try await trio.waitForServedPR(2, timeout: 300)
            print("penguins: merged to served in \(ContinuousClock.now - start) (the first run builds its venv)")
            #expect(served["format"]?.stringValue == "onnx")
            let version = try #require(served["version"]?.stringValue)
            try await Self.expectKeptFiles(trio, version: version)
            let model = trio.directory.appendingPathComponent("artifacts/penguin-species/\(version)/model.onnx")
            let test = example.appendingPathComponent("data/test.csv")
            let oracle = try await CommandRunner.run([
                python, Trio.repositoryRoot.appendingPathComponent("Tests/Fixtures/onnx_predict.py").path, model.path,
                test.path,
            ])
            let expected = try JSONValue.parse(Array(oracle.stdout.utf8))
            let labels = try #require(expected["labels"]?.arrayValue).compactMap(\.stringValue)
            let probabilities = try #require(expected["probabilities"]?.arrayValue).map {
                ($0.arrayValue ?? []).compactMap(\.doubleValue)
            }
            let classes = try #require(served["classes"]?.arrayValue).compactMap(\.stringValue)
            let response = try await trio.http.request(
                "POST", "\(trio.servingURL)/predict", body: String(decoding: try Data(contentsOf: test), as: UTF8.self),
                contentType: "text/csv")
            #expect(response.status.code == 200, "\(response.text)")
            let rows = response.text.split(separator: "\n").map {
                $0.split(separator: ",", omittingEmptySubsequences: false)
            }
            #expect(rows.first?.map(String.init) == ["label"] + classes.map { "probability_\($0)" })
            let answers = Array(rows.dropFirst())
            #expect(answers.count == labels.count && labels.count == 69, "every test row answered")
            for (index, (row, (label, expected))) in zip(answers, zip(labels, probabilities)).enumerated() {
                let served = row.dropFirst().compactMap { Double($0) }
                guard String(row.first ?? "") == label,
                    served.count == expected.count,
                    zip(served, expected).allSatisfy({ abs($0 - $1) <= 1e-5 * max(1, abs($1)) })
                else {
                    Issue.record("row \(index): served \(row), onnxruntime \(label) \(expected)")
                    break
                }
            }
        }
    }

    @Test("GET /runs/{id} shows the training command's output while it runs; cancelling stops it and keeps the log")
    func liveLog() async throws {
        try await Self.afterFirstDeployment { trio, _ in
            let example = Trio.repositoryRoot.appendingPathComponent("deploy/example-penguins")
            try trio.mergePullRequest(title: "A slow train.py") { repo in
                let manifest = try String(contentsOf: example.appendingPathComponent("conveyor.yaml"), encoding: .utf8)
                try manifest.replacingOccurrences(of: "  requirements: requirements.txt\n", with: "").write(
                    to: repo.appendingPathComponent("conveyor.yaml"), atomically: true, encoding: .utf8)
                try FileManager.default.copyItem(
                    at: example.appendingPathComponent("data"), to: repo.appendingPathComponent("data"))
                try "import time\nprint('epoch 1 of 2', flush=True)\ntime.sleep(120)\n".write(
                    to: repo.appendingPathComponent("train.py"), atomically: true, encoding: .utf8)
            }
            _ = try await trio.get("\(trio.vcsURL)/checkout")
            let id = try await eventually(timeout: 60, "run of PR #2 to show train.py's first line while running") {
                () async throws -> Int64? in
                let (_, runs) = try await trio.get("\(trio.trainerURL)/runs")
                guard let run = runs.arrayValue?.first(where: { $0["pr_number"]?.integerValue == 2 }),
                    let id = run["id"]?.integerValue
                else { return nil }
                let (_, detail) = try await trio.get("\(trio.trainerURL)/runs/\(id)")
                let live = detail["log"]?.stringValue?.contains("| epoch 1 of 2") == true
                return detail["status"]?.stringValue == "running" && live ? id : nil
            }
            let (status, _) = try await trio.post(
                "\(trio.trainerURL)/runs/\(id)/cancel", body: "",
                headers: [("Authorization", "Bearer \(Trio.adminToken)")])
            #expect(status == 202)
            let ended = try await eventually(timeout: 30, "the run to be recorded as cancelled") {
                () async throws -> JSONValue? in
                let (_, detail) = try await trio.get("\(trio.trainerURL)/runs/\(id)")
                return detail["status"]?.stringValue == "cancelled" ? detail : nil
            }
            #expect(ended["log"]?.stringValue?.contains("| epoch 1 of 2") == true, "the streamed output stays")
            let (_, info) = try await trio.get("\(trio.servingURL)/")
            #expect(info["pull_request"]?["number"]?.integerValue == 1, "the live model is untouched")
        }
    }

    /// The run's log has train.py's own output, and the `params.json` it wrote is kept and served.
    static func expectKeptFiles(_ trio: Trio, version: String) async throws {
        let (_, runs) = try await trio.get("\(trio.trainerURL)/runs")
        let run = try #require(runs.arrayValue?.first { $0["model_version"]?.stringValue == version })
        let id = try #require(run["id"]?.integerValue)
        let (_, detail) = try await trio.get("\(trio.trainerURL)/runs/\(id)")
        #expect(detail["log"]?.stringValue?.contains("| trained on") == true, "train.py's output is in the log")
        let files = detail["files"]?.arrayValue ?? []
        #expect(files.map { $0["name"]?.stringValue } == ["params.json"], "\(files)")
        let params = try await trio.http.request("GET", "\(trio.trainerURL)/runs/\(id)/files/params.json")
        #expect(params.status.code == 200)
        #expect(params.headers[.contentType]?.hasPrefix("application/json") == true)
        let json = try JSONValue.parse(params.body)
        #expect(json["n_estimators"]?.integerValue == 100, "params.json as train.py wrote it")
        #expect(files.first?["bytes"]?.integerValue == Int64(params.body.count))
        let missing = try await trio.http.request("GET", "\(trio.trainerURL)/runs/\(id)/files/nothing.json")
        #expect(missing.status.code == 404)
    }
}
