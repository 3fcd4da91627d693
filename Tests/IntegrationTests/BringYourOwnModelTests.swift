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
}
