import Foundation
import JSON
import Subprocess
import Testing

@testable import Learning

/// Conveyor's explanations against the `shap` package's TreeExplainer (path-dependent
/// TreeSHAP, Tests/Fixtures/shap_oracle.py in the test venv): built-in trees trained on real
/// data (Seattle weather, Palmer penguins with their own missing values and categories) are
/// converted to shap's custom tree dictionaries, and every contribution, base value and raw
/// output must agree to 1e-9. Linear models are checked against the closed form.
@Suite("Explanations: exact Shapley values, equal to shap's TreeExplainer")
struct TreeSHAPOracleTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// One trained case: its artifact, and test rows encoded for it.
    struct Case {
        let name: String
        let artifact: ModelArtifact
        let rows: [[Double]]
    }

    static func table(_ path: String, transform: ((String) -> String)? = nil) throws -> CSVTable {
        var text = try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
        if let transform { text = transform(text) }
        return try CSVTable(bytes: Array(text.utf8))
    }

    /// Trains `model` on the table's first 80% (or `test` when given) and encodes up to 60 test rows.
    static func trained(
        _ name: String, manifest yaml: String, train: CSVTable, test: CSVTable? = nil
    ) throws -> Case {
        let manifest = try Manifest.parse(yaml)
        let split = train.rowCount * 4 / 5
        let (trainPart, testPart) =
            test.map { (train, $0) } ?? (train.slice(0..<split), train.slice(split..<train.rowCount))
        let trained = try ModelTraining.train(manifest: manifest, train: trainPart, test: testPart, log: { _ in })
        let artifact = trained.artifact
        var rows: [[Double]] = []
        for row in 0..<min(60, testPart.rowCount) {
            let encoded = artifact.encoder.encode { feature in
                guard let column = testPart.column(feature) else { return nil }
                let text = testPart.field(row: row, column: column)
                return CSVTable.isMissing(text) ? .missing : .text(text)
            }
            if case .vector(let vector) = encoded { rows.append(vector) }
        }
        return Case(name: name, artifact: artifact, rows: rows)
    }

    static let seattleFeatures = """
        features:
          - {name: temp_min, type: numeric}
          - {name: precipitation, type: numeric, missing: native}
          - {name: wind, type: numeric}
          - {name: weather, type: categorical}
        """
    static let penguinFeatures = """
        features:
          - {name: island, type: categorical, missing: native, unknown: ignore}
          - {name: bill_length_mm, type: numeric, missing: native}
          - {name: bill_depth_mm, type: numeric, missing: native}
          - {name: flipper_length_mm, type: numeric, missing: native}
          - {name: body_mass_g, type: numeric, missing: native}
          - {name: sex, type: categorical, missing: native, unknown: ignore}
        """

    /// Blanks field `column` in every `every`-th data line (the trees learn where missing goes).
    static func blanking(column: Int, every: Int) -> (String) -> String {
        { text in
            var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            for index in stride(from: 1, to: lines.count, by: every) where !lines[index].isEmpty {
                var fields = lines[index].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                fields[column] = ""
                lines[index] = fields.joined(separator: ",")
            }
            return lines.joined(separator: "\n")
        }
    }

    /// Seattle's weather with every 7th precipitation missing.
    static func seattle() throws -> CSVTable {
        try table("deploy/example-model/data/seattle-weather.csv", transform: blanking(column: 1, every: 7))
    }

    /// Seattle's weather as a two-class problem (rain or not), every 5th precipitation missing.
    static func seattleRain() throws -> CSVTable {
        try table("deploy/example-model/data/seattle-weather.csv") { text in
            blanking(column: 1, every: 5)(
                text.split(separator: "\n").enumerated().map { index, line in
                    guard index > 0 else { return String(line) }
                    var fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                    fields[5] = fields[5] == "rain" ? "rain" : "dry"
                    return fields.joined(separator: ",")
                }.joined(separator: "\n"))
        }
    }

    static func cases() throws -> [Case] {
        let seattle = try seattle()
        let rain = try seattleRain()
        // Penguins have a few missing values of their own; every 6th bill length more.
        let penguinsTrain = try table(
            "deploy/example-penguins/data/train.csv", transform: blanking(column: 2, every: 6))
        let penguinsTest = try table("deploy/example-penguins/data/test.csv", transform: blanking(column: 2, every: 6))
        func regression(_ model: String) -> String {
            "name: t\ntask: regression\ndata: {path: d.csv, split: {test_fraction: 0.2}}\ntarget: temp_max\n\(seattleFeatures)\nmodel: \(model)\n"
        }
        func penguins(_ model: String) -> String {
            "name: p\ntask: classification\ndata: {path: d.csv, split: {test_fraction: 0.2}}\ntarget: species\n\(penguinFeatures)\nmodel: \(model)\n"
        }
        let rainManifest = """
            name: r
            task: classification
            data: {path: d.csv, split: {test_fraction: 0.2}}
            target: weather
            features:
              - {name: temp_min, type: numeric}
              - {name: temp_max, type: numeric}
              - {name: precipitation, type: numeric, missing: native}
              - {name: wind, type: numeric}
            model: {algorithm: gradient_boosting, params: {iterations: 25, max_leaves: 15}}
            """
        return [
            try trained(
                "decision tree regression", manifest: regression("{algorithm: decision_tree, params: {max_depth: 7}}"),
                train: seattle),
            try trained(
                "random forest regression",
                manifest: regression("{algorithm: random_forest, params: {trees: 12, max_depth: 9}}"), train: seattle),
            try trained(
                "gradient boosting regression",
                manifest: regression("{algorithm: gradient_boosting, params: {iterations: 40, max_leaves: 31}}"),
                train: seattle),
            try trained(
                "random forest, three classes (probabilities)",
                manifest: penguins("{algorithm: random_forest, params: {trees: 10, max_depth: 6}}"),
                train: penguinsTrain, test: penguinsTest),
            try trained(
                "gradient boosting, three classes (softmax scores)",
                manifest: penguins("{algorithm: gradient_boosting, params: {iterations: 15, max_leaves: 8}}"),
                train: penguinsTrain, test: penguinsTest),
            try trained("gradient boosting, two classes (log-odds)", manifest: rainManifest, train: rain),
        ]
    }

    static func close(_ actual: Double, _ expected: Double) -> Bool {
        abs(actual - expected) <= 1e-9 * max(1, abs(expected))
    }

    @Test("built-in trees: contributions, base values and raw outputs equal shap's to 1e-9, and add up")
    func treesEqualShap() async throws {
        let python = try #require(
            ProcessInfo.processInfo.environment["CONVEYOR_TEST_PYTHON"],
            "CONVEYOR_TEST_PYTHON names the test venv (deploy/local.sh test sets it)")
        for testCase in try Self.cases() {
            guard case .trees(let ensemble) = testCase.artifact.predictor else {
                Issue.record("\(testCase.name): not trees")
                continue
            }
            #expect(testCase.rows.count >= 40, "\(testCase.name)")
            #expect(testCase.rows.contains { $0.contains(where: \.isNaN) }, "\(testCase.name): no missing values")
            let explainer = try ModelExplainer(testCase.artifact)
            guard case .object(var spec) = ShapTreeExport.model(ensemble) else { return }
            spec["rows"] = .array(
                testCase.rows.map { row in .array(row.map { $0.isNaN ? .null : .number($0) }) })
            let file = FileManager.default.temporaryDirectory.appendingPathComponent(
                "conveyor-shap-\(UUID().uuidString.prefix(8)).json")
            try JSONEncoder().encode(JSONValue.object(spec)).write(to: file)
            defer { try? FileManager.default.removeItem(at: file) }
            let result = try await CommandRunner.output([
                python, Self.root.appendingPathComponent("Tests/Fixtures/shap_oracle.py").path, file.path,
            ])
            try #require(result.status == 0, "\(testCase.name): shap_oracle.py: \(result.stderr.suffix(3000))")
            let oracle = try JSONValue.parse(Array(result.stdout.utf8))
            let expected = try #require(oracle["expected"]?.arrayValue).compactMap(\.doubleValue)
            let phi = try #require(oracle["phi"]?.arrayValue)
            let raw = try #require(oracle["raw"]?.arrayValue)
            // The encoded column → manifest feature map the served contributions sum over.
            let columnInput = testCase.artifact.features.enumerated().flatMap { index, feature in
                [Int](repeating: index, count: feature.width)
            }
            let doubled = ensemble.link == .sigmoid
            // The depth-first pass alone (no tables), checked against shap column by column.
            let untabled = try #require(TreeSHAP(ensemble, tabling: false))
            #expect(!untabled.tables.tabled.contains(true))
            #expect(try #require(TreeSHAP(ensemble)).tables.tabled.allSatisfy { $0 }, "small trees are tabled")
            var compared = 0
            for (rowIndex, row) in testCase.rows.enumerated() {
                let explanation = explainer.explain(encoded: row)
                var ours = [Double](repeating: 0, count: ensemble.outputs)
                row.withUnsafeBufferPointer { row in
                    ours.withUnsafeMutableBufferPointer { ensemble.rawOutputs(row, into: $0) }
                }
                let shapRaw = try #require(raw[rowIndex].arrayValue).compactMap(\.doubleValue)
                let shapColumns = try #require(phi[rowIndex].arrayValue).map {
                    try #require($0.arrayValue).compactMap(\.doubleValue)
                }
                var columns = [Double](repeating: 0, count: shapColumns.count * ensemble.outputs)
                row.withUnsafeBufferPointer { row in
                    columns.withUnsafeMutableBufferPointer { untabled.addContributions(row, into: $0) }
                }
                for (column, values) in shapColumns.enumerated() {
                    for k in values.indices {
                        #expect(
                            Self.close(columns[column * ensemble.outputs + k], values[k]),
                            "\(testCase.name) row \(rowIndex) column \(column): depth-first pass \(columns[column * ensemble.outputs + k]) vs shap \(values[k])"
                        )
                    }
                }
                for k in 0..<ensemble.outputs {
                    // Served output k (the second class when a sigmoid's score is doubled).
                    let served = doubled ? 1 : k
                    #expect(
                        Self.close(ours[k], shapRaw[k]),
                        "\(testCase.name) row \(rowIndex): raw \(ours[k]) vs shap \(shapRaw[k])")
                    #expect(
                        Self.close(explanation.baseValues[served], expected[k]),
                        "\(testCase.name): base \(explanation.baseValues[served]) vs shap \(expected[k])")
                    var byInput = [Double](repeating: 0, count: explainer.inputNames.count)
                    for (column, values) in shapColumns.enumerated() { byInput[columnInput[column]] += values[k] }
                    for (input, value) in byInput.enumerated() {
                        #expect(
                            Self.close(explanation.contributions[served][input], value),
                            "\(testCase.name) row \(rowIndex) \(explainer.inputNames[input]): \(explanation.contributions[served][input]) vs shap \(value)"
                        )
                        compared += 1
                    }
                    #expect(
                        Self.close(explanation.rawOutputs[served], ours[k]),
                        "\(testCase.name) row \(rowIndex): base + Σ contributions = \(explanation.rawOutputs[served]), raw \(ours[k])"
                    )
                }
                if doubled {
                    #expect(explanation.baseValues[0] == -explanation.baseValues[1])
                    #expect(explanation.contributions[0] == explanation.contributions[1].map { -$0 })
                }
            }
            #expect(compared > 0)
            let importance = try #require(testCase.artifact.importance, "\(testCase.name): no importance recorded")
            #expect(Set(importance.keys) == Set(explainer.inputNames))
            #expect(importance.values.contains { $0 > 0 })
            print("\(testCase.name): \(compared) contributions equal shap's (\(testCase.rows.count) rows)")
        }
    }

    @Test("linear and logistic regression: coefficient × (value − training mean), per one-hot group, adding up")
    func linearClosedForm() throws {
        let seattle = try Self.seattle()
        let linear = try Self.trained(
            "linear",
            manifest: """
                name: t
                task: regression
                data: {path: d.csv, split: {test_fraction: 0.2}}
                target: temp_max
                features:
                  - {name: temp_min, type: numeric}
                  - {name: precipitation, type: numeric, missing: impute}
                  - {name: wind, type: numeric}
                  - {name: weather, type: categorical}
                model: {algorithm: linear_regression}
                """, train: seattle)
        let logistic = try Self.trained(
            "logistic",
            manifest: """
                name: p
                task: classification
                data: {path: d.csv, split: {test_fraction: 0.2}}
                target: species
                features:
                  - {name: island, type: categorical}
                  - {name: bill_length_mm, type: numeric, missing: impute}
                  - {name: flipper_length_mm, type: numeric, missing: impute}
                model: {algorithm: logistic_regression}
                """, train: try Self.table("deploy/example-penguins/data/train.csv"))
        for testCase in [linear, logistic] {
            let explainer = try ModelExplainer(testCase.artifact)
            let (intercepts, coefficients, means): ([Double], [[Double]], [Double]) =
                switch testCase.artifact.predictor {
                case .linear(let model): ([model.intercept], [model.coefficients], try #require(model.means))
                case .logistic(let model): (model.intercepts, model.coefficients, try #require(model.means))
                default: ([], [], [])
                }
            let features = testCase.artifact.features
            #expect(!intercepts.isEmpty)
            for row in testCase.rows {
                let explanation = explainer.explain(encoded: row)
                for k in intercepts.indices {
                    var score = intercepts[k]
                    var base = intercepts[k]
                    for j in row.indices {
                        score += coefficients[k][j] * row[j]
                        base += coefficients[k][j] * means[j]
                    }
                    #expect(Self.close(explanation.baseValues[k], base))
                    #expect(Self.close(explanation.rawOutputs[k], score), "\(testCase.name): additivity")
                    var offset = 0
                    for (input, feature) in features.enumerated() {
                        var expected = 0.0
                        for j in offset..<(offset + feature.width) {
                            expected += coefficients[k][j] * (row[j] - means[j])
                        }
                        offset += feature.width
                        #expect(Self.close(explanation.contributions[k][input], expected), "\(feature.name)")
                    }
                }
            }
        }
    }
}
