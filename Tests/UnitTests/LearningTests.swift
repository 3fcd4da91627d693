import Foundation
import Learning
import Testing

@Suite("Learning: data, linear model, metrics, artifacts")
struct LearningTests {
    @Test("least squares recovers an exact linear relation")
    func exactLinearFit() {
        let rows = (0..<50).map { i -> [Double] in [Double(i), Double(i * i % 7), sin(Double(i))] }
        let target = rows.map { 3 + 2 * $0[0] - 0.5 * $0[1] + 4 * $0[2] }
        let model = LinearModel.fit(Dataset(rows: rows, target: target))
        #expect(abs(model.intercept - 3) < 1e-8)
        #expect(abs(model.coefficients[0] - 2) < 1e-9)
        #expect(abs(model.coefficients[1] + 0.5) < 1e-9)
        #expect(abs(model.coefficients[2] - 4) < 1e-8)
        #expect(RegressionMetrics.rmse(target, rows.map(model.predict)) < 1e-8)
    }

    @Test("a constant column does not break the solve")
    func constantColumn() {
        let rows = (0..<20).map { [Double($0), 1.0] }
        let model = LinearModel.fit(Dataset(rows: rows, target: rows.map { 5 * $0[0] }))
        #expect(abs(model.predict([10, 1]) - 50) < 1e-6)
    }

    @Test("metrics match hand-computed values")
    func metrics() {
        let truth: [Double] = [1, 2, 3, 4]
        let predicted: [Double] = [1, 3, 2, 4]
        #expect(abs(RegressionMetrics.rmse(truth, predicted) - sqrt(0.5)) < 1e-12)
        #expect(RegressionMetrics.mae(truth, predicted) == 0.5)
        #expect(abs(RegressionMetrics.r2(truth, predicted) - 0.6) < 1e-12)
    }

    @Test("CSV: quotes, embedded commas and newlines, CRLF and missing markers")
    func csvParsing() throws {
        let text = "name,note,value\r\n\"Smith, J\",\"said \"\"hi\"\"\nthen left\",1.5\r\nplain,,NA\r\n"
        let table = try CSVTable(bytes: Array(text.utf8))
        #expect(table.header == ["name", "note", "value"])
        #expect(table.rowCount == 2)
        #expect(table.row(0) == ["Smith, J", "said \"hi\"\nthen left", "1.5"])
        #expect(table.line(ofRow: 1) == 4)
        #expect(CSVTable.isMissing(table.field(row: 1, column: 1)))
        #expect(CSVTable.isMissing(table.field(row: 1, column: 2)))
        let numbers = table.numbers(column: 2)
        #expect(numbers.values[0] == 1.5 && numbers.values[1].isNaN && numbers.invalid.isEmpty)
    }

    @Test("CSV: a ragged row is an error naming its line")
    func raggedRow() {
        #expect(throws: CSVTable.ParseError(line: 3, problem: "has 2 fields, the header has 3")) {
            try CSVTable(bytes: Array("a,b,c\n1,2,3\n4,5\n".utf8))
        }
        #expect(throws: CSVTable.ParseError(line: 2, problem: "a quoted field is not closed")) {
            try CSVTable(bytes: Array("a\n\"open\n".utf8))
        }
    }

    @Test("the example manifest parses with its gates")
    func exampleManifest() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("deploy/example-model/conveyor.yaml")
        let manifest = try Manifest.parse(try String(contentsOf: url, encoding: .utf8))
        #expect(manifest.name == "seattle-temp-max")
        #expect(manifest.features.map(\.name) == ["temp_min", "precipitation", "wind", "weather"])
        #expect(manifest.gates["rmse"]?.max == 5.0)
        #expect(manifest.noRegression == Manifest.NoRegression(metric: "rmse", tolerance: 0.05))
    }

    @Test("manifest errors name the key and the problem")
    func manifestErrors() {
        let base = """
            name: m
            task: regression
            data: {path: d.csv, split: {test_fraction: 0.2}}
            target: y
            features: [{name: x, type: numeric}]
            model: {algorithm: linear_regression}
            """
        func problem(_ yaml: String) -> String {
            do {
                _ = try Manifest.parse(yaml)
                return "parsed"
            } catch {
                return "\(error)"
            }
        }
        #expect(problem(base) == "parsed")
        #expect(problem(base.replacingOccurrences(of: "target: y\n", with: "")).contains("target: is required"))
        #expect(problem(base.replacingOccurrences(of: "linear_regression", with: "magic")).contains("model.algorithm"))
        #expect(problem(base.replacingOccurrences(of: "type: numeric", with: "type: complex")).contains("features[0]"))
        #expect(problem(base.replacingOccurrences(of: "0.2", with: "1.5")).contains("data.split.test_fraction"))
        #expect(problem("name: [unclosed").contains("conveyor.yaml"))
    }

    @Test("the feature encoder reports every problem by field")
    func encoderProblems() {
        let encoder = FeatureEncoder(features: [
            FeatureSpec(name: "t", type: .numeric, min: -10, max: 10),
            FeatureSpec(name: "w", type: .categorical, categories: ["sun", "rain"]),
            FeatureSpec(name: "x", type: .numeric),
        ])
        let values: [String: FeatureValue] = ["t": .number(12), "w": .text("snow")]
        guard case .problems(let problems) = encoder.encode({ values[$0] }) else {
            Issue.record("invalid input was encoded")
            return
        }
        #expect(problems.map(\.field) == ["t", "w", "x"])
        #expect(problems[0].problem.contains("above the maximum"))
        #expect(problems[1].problem.contains("unknown category"))
        #expect(problems[2].problem == "is required")
        let good: [String: FeatureValue] = ["t": .number(1), "w": .text("rain"), "x": .number(2)]
        #expect(encoder.encode({ good[$0] }) == .vector([1, 0, 1, 2]))
    }

    @Test("an artifact round-trips, and a tampered one is refused")
    func artifactRoundTrip() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("artifacts-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let artifact = ModelArtifact(
            name: "m", version: "v1", task: .regression, algorithm: "linear_regression", target: "y",
            features: [FeatureSpec(name: "x", type: .numeric)],
            predictor: .linear(LinearModel(intercept: 1, coefficients: [2])),
            metrics: ["rmse": 0.5], reference: ["x": FeatureStatistics(values: [1, 2, 3])],
            trainedAt: Date(timeIntervalSince1970: 1_700_000_000))
        let written = try ArtifactStore.write(artifact, manifestYAML: "name: m\n", root: root)
        #expect(written.path.lastPathComponent == "v1")
        let loaded = try ArtifactStore.load(from: written.path, expectedSHA256: written.sha256)
        #expect(loaded == artifact)
        #expect(loaded.predict(encoded: [3]) == artifact.predict(encoded: [3]))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("m").path)
        #expect(leftovers == ["v1"])

        try Data("tampered".utf8).write(to: written.path.appendingPathComponent("metrics.json"))
        #expect(throws: ArtifactStore.LoadError.self) {
            try ArtifactStore.load(from: written.path, expectedSHA256: written.sha256)
        }
    }
}
