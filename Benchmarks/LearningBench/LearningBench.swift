import ArgumentParser
import Foundation
import JSON
import Learning

/// Trains one Conveyor learner on a CSV with the peers' protocol (first 80%
/// of rows train, last 20% test, file order) and prints one JSON line in the
/// same shape as `../shared/peers/train.py`, so the two sit side by side.
@main
struct LearningBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "learning-bench", abstract: "Time a Conveyor learner the way the peers' train.py does.")

    @Argument(help: "CSV file with a header row.") var csv: String
    @Argument(help: "Target column.") var target: String
    @Argument(help: "rf | hgb | cart | linear | logistic") var algo: String
    @Option(help: "Trees or boosting iterations.") var trees = 100
    @Option(name: .customLong("max-depth"), help: "Maximum depth (default: unlimited).") var maxDepth: Int?
    @Flag(help: "Also time single-row prediction and the artifact's save and load.") var latency = false
    @Option(
        name: .customLong("explain-rows"),
        help: "Also time exact explanations (TreeSHAP) of this many test rows, one at a time, one thread.")
    var explainRows: Int?
    @Option(
        name: .customLong("shap-export"),
        help: "With --explain-rows: write the trees (shap's custom format), the rows and the contributions here.")
    var shapExport: String?

    func run() throws {
        let start = Date()
        let table = try CSVTable(contentsOf: URL(fileURLWithPath: csv))
        let loadSeconds = Date().timeIntervalSince(start)
        guard let targetColumn = table.column(target) else { throw ValidationError("no column \(target)") }
        let classification = table.numbers(column: targetColumn).invalid.count > 0 || algo == "logistic"
        let features = table.header.filter { $0 != target }.map { FeatureSpec(name: $0, type: .numeric) }
        let algorithm = [
            "rf": "random_forest", "hgb": "gradient_boosting", "cart": "decision_tree", "linear": "linear_regression",
            "logistic": "logistic_regression",
        ][algo]
        guard let algorithm else { throw ValidationError("unknown algo \(algo)") }
        var params: [String: Double] = [:]
        if algo == "rf" { params["trees"] = Double(trees) }
        if algo == "hgb" { params["iterations"] = Double(trees) }
        if algo == "linear" { params["l2"] = 1 }
        if let maxDepth, ["rf", "hgb", "cart"].contains(algo) { params["max_depth"] = Double(maxDepth) }
        let yaml = """
            name: bench
            task: \(classification ? "classification" : "regression")
            data: {path: data.csv, split: {test_fraction: 0.2}}
            target: \(target)
            features: [\(features.map { "{name: \($0.name), type: numeric}" }.joined(separator: ", "))]
            model: {algorithm: \(algorithm)}
            """
        var manifest = try Manifest.parse(yaml)
        manifest.model.params = params
        let cut = Int(Double(table.rowCount) * 0.8)
        let encodeStart = Date()
        let builder = DatasetBuilder(manifest: manifest)
        let train = table.slice(0..<cut)
        let test = table.slice(cut..<table.rowCount)
        let resolved = try builder.resolvedFeatures(from: train, file: "train")
        let classes = classification ? try builder.classes(from: train, file: "train") : nil
        let trainData = try builder.build(train, file: "train", features: resolved, classes: classes)
        let testData = try builder.build(test, file: "test", features: resolved, classes: classes)
        let encodeSeconds = Date().timeIntervalSince(encodeStart)

        let fitStart = Date()
        let predictor = Algorithms.fit(manifest.model, data: trainData, classes: classes?.count)
        let fitSeconds = Date().timeIntervalSince(fitStart)
        let artifact = ModelArtifact(
            name: "bench", version: "v1", task: manifest.task, algorithm: algorithm, params: params, target: target,
            features: resolved, classes: classes, predictor: predictor, metrics: [:], reference: [:],
            trainedAt: Date())

        let predictStart = Date()
        let outputs = try ModelTraining.outputs(of: artifact, on: testData)
        let predictSeconds = Date().timeIntervalSince(predictStart)
        var result: [String: Any] = [
            "tool": "conveyor", "algo": algo, "rows": table.rowCount, "load_s": round4(loadSeconds),
            "encode_s": round4(encodeSeconds), "fit_s": round4(fitSeconds), "predict_s": round4(predictSeconds),
        ]
        if classes != nil {
            let truth = testData.target.map { Int($0) }
            let predicted = outputs.map { o in o.indices.max { o[$0] < o[$1] }! }
            result["accuracy"] = ClassificationMetrics.accuracy(truth, predicted)
        } else {
            let predicted = outputs.map { $0[0] }
            result["rmse"] = RegressionMetrics.rmse(testData.target, predicted)
            result["r2"] = RegressionMetrics.r2(testData.target, predicted)
        }
        if case .trees(let ensemble) = predictor {
            result["trees"] = ensemble.treeCount
            result["nodes"] = ensemble.nodes.count
        }
        if latency { try measureLatency(artifact, testData: testData, into: &result) }
        if let explainRows { try measureExplanations(artifact, testData: testData, rows: explainRows, into: &result) }
        let json = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
        print(String(decoding: json, as: UTF8.self))
    }

    /// Single-row prediction (encoded row, no allocation) and artifact save/load.
    private func measureLatency(_ artifact: ModelArtifact, testData: Dataset, into result: inout [String: Any]) throws {
        let rows = min(testData.count, 10_000)
        let encoded = (0..<rows).map { testData.row($0) }
        var output = [Double](repeating: 0, count: artifact.outputCount)
        var sink = 0.0
        let repetitions = 5
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            for _ in 0..<repetitions {
                for row in encoded {
                    row.withUnsafeBufferPointer { row in
                        output.withUnsafeMutableBufferPointer { artifact.predict(row, into: $0) }
                    }
                    sink += output[0]
                }
            }
        }
        let perRow = Double(elapsed.components.attoseconds) / 1e12 + Double(elapsed.components.seconds) * 1e6
        result["predict_one_us"] = round4(perRow / Double(rows * repetitions))
        result["checksum"] = round4(sink)
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("bench-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let saveStart = Date()
        let written = try ArtifactStore.write(artifact, manifestYAML: "name: bench\n", root: root)
        result["artifact_save_ms"] = round4(Date().timeIntervalSince(saveStart) * 1000)
        let loadStart = Date()
        _ = try ArtifactStore.load(from: written.path, expectedSHA256: written.sha256)
        result["artifact_load_ms"] = round4(Date().timeIntervalSince(loadStart) * 1000)
        let size = try FileManager.default.contentsOfDirectory(atPath: written.path.path).reduce(0) {
            $0
                + ((try? FileManager.default.attributesOfItem(atPath: written.path.appendingPathComponent($1).path)[
                    .size]
                    as? Int) ?? 0)
        }
        result["artifact_bytes"] = size
    }

    /// Explains `rows` test rows one at a time (what a served `explain` does per row).
    private func measureExplanations(
        _ artifact: ModelArtifact, testData: Dataset, rows count: Int, into result: inout [String: Any]
    ) throws {
        let explainer = try ModelExplainer(artifact)
        let rows = (0..<min(count, testData.count)).map { testData.row($0) }
        var explanations: [Explanation] = []
        explanations.reserveCapacity(rows.count)
        let elapsed = ContinuousClock().measure {
            for row in rows { explanations.append(explainer.explain(encoded: row)) }
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        result["explain_rows"] = rows.count
        result["explain_row_us"] = round4(seconds * 1e6 / Double(rows.count))
        guard let shapExport, case .trees(let ensemble) = artifact.predictor,
            case .object(var model) = ShapTreeExport.model(ensemble)
        else { return }
        model["rows"] = .array(rows.map { .array($0.map { .number($0) }) })
        // Per row, per output, per encoded column (here one column per feature).
        model["contributions"] = .array(
            explanations.map { .array($0.contributions.map { .array($0.map { .number($0) }) }) })
        try JSONEncoder().encode(JSONValue.object(model)).write(to: URL(fileURLWithPath: shapExport))
    }

    private func round4(_ value: Double) -> Double { (value * 10_000).rounded() / 10_000 }
}
