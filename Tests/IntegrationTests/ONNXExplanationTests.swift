import Foundation
import JSON
import Subprocess
import Testing

@testable import Learning

/// Explanations of a repository's own ONNX tree ensembles against the `shap` package's
/// TreeExplainer on the scikit-learn and LightGBM models that were exported
/// (Tests/Fixtures/onnx_shap_oracle.py): Conveyor sees only the .onnx file and the training
/// split, trains through `ModelTraining` as a run does (which computes the covers), and
/// explains the test rows; one-hot columns inside the graph add up to their feature.
@Suite("Explanations of ONNX tree ensembles, equal to shap's TreeExplainer on the exported model")
struct ONNXExplanationTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The oracle's cases, written once into a temporary directory.
    static func oracle() async throws -> (URL, JSONValue) {
        let python = try #require(
            ProcessInfo.processInfo.environment["CONVEYOR_TEST_PYTHON"],
            "CONVEYOR_TEST_PYTHON names the test venv (deploy/local.sh test sets it)")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "conveyor-onnx-shap-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let result = try await CommandRunner.output([
            python, root.appendingPathComponent("Tests/Fixtures/onnx_shap_oracle.py").path, directory.path,
            root.appendingPathComponent("deploy/example-model/data/seattle-weather.csv").path,
            root.appendingPathComponent("deploy/example-penguins/data/train.csv").path,
        ])
        try #require(result.status == 0, "onnx_shap_oracle.py: \(result.stderr.suffix(3000))")
        let cases = try JSONValue.parse(Array(try Data(contentsOf: directory.appendingPathComponent("cases.json"))))
        return (directory, cases)
    }

    static func manifest(_ spec: JSONValue) throws -> Manifest {
        let features = try #require(spec["features"]?.arrayValue).map { feature in
            let name = feature["name"]?.stringValue ?? ""
            let type = feature["type"]?.stringValue ?? "numeric"
            let missing = feature["missing"]?.stringValue.map { ", missing: \($0)" } ?? ""
            return "  - {name: \(name), type: \(type)\(missing)}"
        }
        return try Manifest.parse(
            """
            name: onnx-explained
            task: \(spec["task"]?.stringValue ?? "")
            data: {train: train.csv, test: test.csv}
            target: \(spec["target"]?.stringValue ?? "")
            features:
            \(features.joined(separator: "\n"))
            model: {format: onnx, path: model.onnx}
            """)
    }

    @Test(
        "scikit-learn, LightGBM and XGBoost regressors (one as opset 5's TreeEnsemble), two classes (forest, LightGBM), three one-hot in the graph, missing values: equal to shap, adding up"
    )
    func equalShap() async throws {
        let (directory, cases) = try await Self.oracle()
        defer { try? FileManager.default.removeItem(at: directory) }
        guard case .object(let all) = cases else { throw HarnessError("cases.json is not an object") }
        #expect(all.count == 10)
        var worst: [String: Double] = [:]
        for (name, spec) in all.sorted(by: { $0.key < $1.key }) {
            let manifest = try Self.manifest(spec)
            let train = try CSVTable(
                bytes: Array(try Data(contentsOf: directory.appendingPathComponent("\(name)-train.csv"))))
            let test = try CSVTable(
                bytes: Array(try Data(contentsOf: directory.appendingPathComponent("\(name)-test.csv"))))
            let onnx = try Data(contentsOf: directory.appendingPathComponent("\(name).onnx"))
            var log: [String] = []
            let trained = try ModelTraining.train(
                manifest: manifest, train: train, test: test, log: { log.append($0) }, onnx: onnx)
            let expectedOperator =
                name.hasSuffix("opset5")
                ? "TreeEnsemble's" : spec["classes"] == .null ? "TreeEnsembleRegressor's" : "TreeEnsembleClassifier's"
            #expect(log.contains { $0.hasPrefix("explanations: the \(expectedOperator)") }, "\(name): \(log)")
            let artifact = trained.artifact
            #expect(artifact.importance?.isEmpty == false, "\(name): global importance")
            // Through model.json and back, as serving loads it.
            let stored = FileManager.default.temporaryDirectory.appendingPathComponent(
                "conveyor-onnx-artifact-\(UUID().uuidString.prefix(8))")
            defer { try? FileManager.default.removeItem(at: stored) }
            var versioned = artifact
            versioned.version = "v1"
            let (path, sha256) = try ArtifactStore.write(versioned, manifestYAML: "name: onnx-explained", root: stored)
            let loaded = try ArtifactStore.load(from: path, expectedSHA256: sha256)
            let explainer = try ModelExplainer(loaded)
            #expect(explainer.inputNames == artifact.features.map(\.name))
            let classes = spec["classes"]?.arrayValue?.compactMap(\.stringValue)
            let single = spec["single_output"]?.boolValue ?? false
            let shapBase = try #require(spec["base"]?.arrayValue).compactMap(\.doubleValue)
            let shapRows = try #require(spec["contributions"]?.arrayValue)
            let originalBase = try #require(spec["original_base"]?.arrayValue).compactMap(\.doubleValue)
            let originalRows = try #require(spec["original_contributions"]?.arrayValue)
            #expect(shapRows.count == test.rowCount, "\(name)")
            var largest = 0.0
            var largestFromOriginal = 0.0
            var missingRows = 0
            let predictions = try ModelTraining.outputs(
                of: artifact,
                on: try DatasetBuilder(manifest: manifest).build(
                    test, file: "test", features: artifact.features, classes: artifact.classes))
            #expect(predictions.count == test.rowCount)
            for row in 0..<test.rowCount {
                let encoded = artifact.encoder.encode { feature in
                    guard let column = test.column(feature) else { return nil }
                    let text = test.field(row: row, column: column)
                    return CSVTable.isMissing(text) ? .missing : .text(text)
                }
                guard case .vector(let vector) = encoded else {
                    Issue.record("\(name): row \(row) does not encode")
                    continue
                }
                if vector.contains(where: \.isNaN) { missingRows += 1 }
                let explanation = explainer.explain(encoded: vector)
                let shapOutputs = try #require(shapRows[row].arrayValue).map {
                    try #require($0.arrayValue).compactMap(\.doubleValue)
                }
                let originalOutputs = try #require(originalRows[row].arrayValue).map {
                    try #require($0.arrayValue).compactMap(\.doubleValue)
                }
                // Conveyor's output k against shap's output: by class name, or shap's one log-odds
                // output against the second class (the first is its negation).
                let pairs: [(ours: Int, theirs: Int, sign: Double)] =
                    if single {
                        [(1, 0, 1), (0, 0, -1)]
                    } else if let classes {
                        classes.enumerated().compactMap { theirs, label in
                            artifact.classes?.firstIndex(of: label).map { ($0, theirs, 1) }
                        }
                    } else {
                        [(0, 0, 1)]
                    }
                #expect(pairs.count == explanation.baseValues.count, "\(name)")
                for (ours, theirs, sign) in pairs {
                    // Relative to the output's scale (a temperature near 15, a probability near 1).
                    let scale = max(1, abs(shapBase[theirs]))
                    largest = max(largest, abs(explanation.baseValues[ours] - sign * shapBase[theirs]) / scale)
                    largestFromOriginal = max(
                        largestFromOriginal, abs(explanation.baseValues[ours] - sign * originalBase[theirs]) / scale)
                    for (feature, value) in explanation.contributions[ours].enumerated() {
                        largest = max(largest, abs(value - sign * shapOutputs[theirs][feature]) / scale)
                        largestFromOriginal = max(
                            largestFromOriginal, abs(value - sign * originalOutputs[theirs][feature]) / scale)
                    }
                }
                // They add up to the trees' raw output, which the graph's own prediction confirms.
                let predicted = predictions[row]
                let raw = explanation.rawOutputs
                let linked: [Double]
                if classes != nil {
                    if single {
                        linked = raw.map { 1 / (1 + exp(-$0)) }
                    } else if raw.reduce(0, +).isApproximately(1) {
                        linked = raw  // a forest's probabilities
                    } else {
                        let total = raw.map(exp).reduce(0, +)
                        linked = raw.map { exp($0) / total }
                    }
                } else {
                    linked = raw
                }
                for (a, b) in zip(linked, predicted) {
                    #expect(
                        abs(a - b) <= 1e-5 * max(1, abs(b)), "\(name) row \(row): \(linked) vs the graph's \(predicted)"
                    )
                }
            }
            worst[name] = largest
            // Exact against the model with the file's own (float32) numbers; against the model
            // as trained (float64), to the export's rounding.
            if spec["exact"]?.boolValue != false {
                #expect(largest <= 1e-9, "\(name): largest difference from shap \(largest)")
            }
            #expect(
                largestFromOriginal <= 2e-6,
                "\(name): largest difference from shap on the original model \(largestFromOriginal)")
            if name.contains("missing") { #expect(missingRows > 5, "\(name): rows with missing values") }
        }
        print("ONNX explanations, largest difference from shap per case: \(worst.sorted { $0.key < $1.key })")

        // Graphs Conveyor does not explain train and serve as before, and refuse `explain` saying why.
        let refused = try Self.manifest(
            .object([
                "task": "regression", "target": "temp_max",
                "features": .array(["temp_min", "precipitation", "wind"].map { .object(["name": .string($0)]) }),
            ]))
        let train = try CSVTable(
            bytes: Array(try Data(contentsOf: directory.appendingPathComponent("refused-train.csv"))))
        let test = try CSVTable(
            bytes: Array(try Data(contentsOf: directory.appendingPathComponent("refused-test.csv"))))
        for (name, reason) in [
            ("linear_refused", "no TreeEnsembleRegressor, TreeEnsembleClassifier or TreeEnsemble"),
            ("projected_forest_refused", "(MatMul) reads input columns before the tree ensemble"),
            ("shifted_refused", "the rebuilt trees predict"),
            ("shared_node_refused", "reaches a node twice"),
        ] {
            var log: [String] = []
            let trained = try ModelTraining.train(
                manifest: refused, train: train, test: test, log: { log.append($0) },
                onnx: try Data(contentsOf: directory.appendingPathComponent("\(name).onnx")))
            #expect(
                log.contains { $0.hasPrefix("explanations: not available") && $0.contains(reason) }, "\(name): \(log)")
            #expect(trained.artifact.importance == nil)
            do {
                _ = try ModelExplainer(trained.artifact)
                Issue.record("\(name) explained itself")
            } catch {
                #expect(error.format == "onnx" && error.reason.contains(reason), "\(name): \(error)")
            }
        }
    }
}

extension Double {
    fileprivate func isApproximately(_ other: Double) -> Bool { abs(self - other) <= 1e-6 }
}
