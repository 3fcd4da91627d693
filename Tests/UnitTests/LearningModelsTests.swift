import Foundation
import Learning
import Testing

/// Deterministic pseudo-random numbers for test data.
private struct TestRandom {
    var state: UInt64
    mutating func next() -> Double {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Double(state >> 11) / Double(1 << 53)
    }
}

@Suite("Learning: trees, boosting, logistic regression, metrics, forecast")
struct LearningModelsTests {
    /// y = 10·[x0 > 0.5] + small noise; x1 and x2 are noise.
    static func stepData(rows: Int, seed: UInt64) -> Dataset {
        var random = TestRandom(state: seed)
        var columns = [[Double]](repeating: [], count: 3)
        var target: [Double] = []
        for _ in 0..<rows {
            let x = (0..<3).map { _ in random.next() }
            for j in 0..<3 { columns[j].append(x[j]) }
            target.append((x[0] > 0.5 ? 10 : 0) + 0.01 * random.next())
        }
        return Dataset(columns: columns, target: target)
    }

    /// Two separable classes by x0 + x1 > 1 (plus a third noise input).
    static func classData(rows: Int, seed: UInt64) -> Dataset {
        var random = TestRandom(state: seed)
        var columns = [[Double]](repeating: [], count: 3)
        var target: [Double] = []
        for _ in 0..<rows {
            let x = (0..<3).map { _ in random.next() }
            if abs(x[0] + x[1] - 1) < 0.05 { continue }  // a margin keeps them separable
            for j in 0..<3 { columns[j].append(x[j]) }
            target.append(x[0] + x[1] > 1 ? 1 : 0)
        }
        return Dataset(columns: columns, target: target)
    }

    static func predictions(_ predictor: Predictor, _ data: Dataset, classes: [String]? = nil) -> [ModelArtifact.Output]
    {
        let artifact = ModelArtifact(
            name: "t", version: "v", task: classes == nil ? .regression : .classification, algorithm: "t",
            target: "y", features: [], classes: classes, predictor: predictor, metrics: [:], reference: [:],
            trainedAt: Date())
        return (0..<data.count).map { artifact.output(encoded: data.row($0)) }
    }

    static func values(_ outputs: [ModelArtifact.Output]) -> [Double] {
        outputs.map { if case .value(let v) = $0 { v } else { .nan } }
    }

    static func labels(_ outputs: [ModelArtifact.Output]) -> [Int] {
        outputs.map { if case .label(let label, _) = $0 { Int(label)! } else { -1 } }
    }

    @Test("a CART tree splits on the informative input at the right threshold")
    func treeFindsInformativeSplit() throws {
        let data = Self.stepData(rows: 400, seed: 1)
        var parameters = DecisionTree.Parameters()
        parameters.maxDepth = 1
        let tree = DecisionTree.fit(data, target: .regression, parameters: parameters)
        let root = tree.nodes[Int(tree.roots[0])]
        #expect(root.feature == 0)
        #expect(abs(root.threshold - 0.5) < 0.02)
        let test = Self.stepData(rows: 200, seed: 2)
        #expect(RegressionMetrics.rmse(test.target, Self.values(Self.predictions(.trees(tree), test))) < 0.3)
    }

    @Test("random forest and boosting fit a step; the same seed gives the same model")
    func forestAndBoostingDeterministic() {
        let train = Self.stepData(rows: 2000, seed: 3)
        let test = Self.stepData(rows: 500, seed: 4)
        var forest = RandomForest.Parameters()
        forest.trees = 20
        forest.seed = 7
        let first = RandomForest.fit(train, target: .regression, parameters: forest)
        let second = RandomForest.fit(train, target: .regression, parameters: forest)
        #expect(first == second)
        forest.seed = 8
        #expect(RandomForest.fit(train, target: .regression, parameters: forest) != first)
        #expect(RegressionMetrics.rmse(test.target, Self.values(Self.predictions(.trees(first), test))) < 0.2)

        var boosting = GradientBoosting.Parameters()
        boosting.iterations = 60
        let boosted = GradientBoosting.fit(train, target: .regression, parameters: boosting)
        #expect(boosted == GradientBoosting.fit(train, target: .regression, parameters: boosting))
        #expect(boosted.treeCount == 60)
        // 255 quantile bins blur the step by about 1/255 on each side.
        #expect(RegressionMetrics.rmse(test.target, Self.values(Self.predictions(.trees(boosted), test))) < 0.5)
    }

    @Test("boosting's early stopping keeps the best iteration count")
    func earlyStopping() {
        let train = Self.stepData(rows: 2000, seed: 5)
        var boosting = GradientBoosting.Parameters()
        boosting.iterations = 2000
        boosting.learningRate = 0.5
        boosting.earlyStoppingRounds = 5
        let model = GradientBoosting.fit(train, target: .regression, parameters: boosting)
        #expect(model.treeCount < 200)
        #expect(model.treeCount >= 5)
    }

    @Test("classifiers separate separable classes: forest, boosting (binary and 3-class), logistic")
    func classifiers() {
        let train = Self.classData(rows: 3000, seed: 11)
        let test = Self.classData(rows: 800, seed: 12)
        let truth = test.target.map { Int($0) }
        let classes = ["0", "1"]
        var forest = RandomForest.Parameters()
        forest.trees = 30
        let forestModel = Predictor.trees(
            RandomForest.fit(train, target: .classification(classes: 2), parameters: forest))
        let boosted = Predictor.trees(
            GradientBoosting.fit(train, target: .classification(classes: 2), parameters: .init()))
        let logistic = Predictor.logistic(
            LogisticModel.fit(
                train, classes: 2,
                parameters: {
                    var p = LogisticModel.Parameters()
                    p.c = 1e4
                    return p
                }()))
        for model in [forestModel, boosted, logistic] {
            let accuracy = ClassificationMetrics.accuracy(
                truth, Self.labels(Self.predictions(model, test, classes: classes)))
            #expect(accuracy > 0.95, "\(model)")
        }
        // Probabilities sum to one and favour the true class.
        if case .label(_, let probabilities) = Self.predictions(logistic, test, classes: classes)[0] {
            #expect(abs(probabilities.reduce(0, +) - 1) < 1e-9)
        } else {
            Issue.record("logistic regression did not return probabilities")
        }
        // Three classes by x0 bands.
        let three = Dataset(columns: train.columns, target: train.columns[0].map { $0 < 0.33 ? 0 : $0 < 0.66 ? 1 : 2 })
        let threeTest = Dataset(
            columns: test.columns, target: test.columns[0].map { $0 < 0.33 ? 0 : $0 < 0.66 ? 1 : 2 })
        let softmax = Predictor.trees(
            GradientBoosting.fit(three, target: .classification(classes: 3), parameters: .init()))
        let predicted = Self.labels(Self.predictions(softmax, threeTest, classes: ["0", "1", "2"]))
        #expect(ClassificationMetrics.accuracy(threeTest.target.map { Int($0) }, predicted) > 0.97)
    }

    @Test("trees route missing values the way the training data says")
    func nativeMissingValues() {
        // y = 5 where x is missing, x where present.
        var column: [Double] = []
        var target: [Double] = []
        for index in 0..<600 {
            if index % 3 == 0 {
                column.append(.nan)
                target.append(5)
            } else {
                let x = Double(index % 100) / 100
                column.append(x)
                target.append(x)
            }
        }
        var parameters = DecisionTree.Parameters()
        parameters.maxDepth = 8
        let tree = DecisionTree.fit(
            Dataset(columns: [column], target: target), target: .regression, parameters: parameters)
        let outputs = Self.predictions(.trees(tree), Dataset(columns: [[.nan, 0.2]], target: [5, 0.2]))
        let values = Self.values(outputs)
        #expect(abs(values[0] - 5) < 0.01)
        #expect(abs(values[1] - 0.2) < 0.02)
    }

    @Test("classification metrics match hand-computed values")
    func classificationMetrics() {
        let truth = [0, 0, 1, 1, 2, 2]
        let predicted = [0, 1, 1, 1, 2, 0]
        let confusion = ClassificationMetrics.confusionMatrix(truth, predicted, classes: 3)
        #expect(confusion == [[1, 1, 0], [0, 2, 0], [1, 0, 1]])
        #expect(ClassificationMetrics.accuracy(truth, predicted) == 4.0 / 6)
        let (precision, recall, f1) = ClassificationMetrics.macro(confusion)
        // Precision per class: 1/2, 2/3, 1; recall: 1/2, 1, 1/2.
        #expect(abs(precision - (0.5 + 2.0 / 3 + 1) / 3) < 1e-12)
        #expect(abs(recall - (0.5 + 1 + 0.5) / 3) < 1e-12)
        #expect(abs(f1 - (0.5 + 0.8 + 2.0 / 3) / 3) < 1e-12)
        #expect(
            abs(
                ClassificationMetrics.logLoss([0, 1], probabilities: [[0.8, 0.2], [0.4, 0.6]])
                    - -(log(0.8) + log(0.6)) / 2) < 1e-12)
        // AUC: positives score 0.9 and 0.4, negatives 0.5 and 0.1 → 3 of 4 pairs ordered.
        #expect(ClassificationMetrics.rocAUC([1, 1, 0, 0], scores: [0.9, 0.4, 0.5, 0.1]) == 0.75)
        #expect(ClassificationMetrics.rocAUC([1, 0], scores: [0.5, 0.5]) == 0.5)
        #expect(abs(RegressionMetrics.mape([100, 200], [110, 180])! - 10) < 1e-12)
        #expect(abs(RegressionMetrics.smape([100, 0], [100, 0])) < 1e-12)
        #expect(abs(RegressionMetrics.smape([1], [3]) - 100) < 1e-12)
    }

    @Test("a tree artifact round-trips through trees.bin with identical predictions")
    func treeArtifactRoundTrip() throws {
        let train = Self.classData(rows: 1000, seed: 21)
        var forest = RandomForest.Parameters()
        forest.trees = 10
        let artifact = ModelArtifact(
            name: "m", version: "v1", task: .classification, algorithm: "random_forest", target: "y",
            features: ["a", "b", "c"].map { FeatureSpec(name: $0, type: .numeric) }, classes: ["no", "yes"],
            predictor: .trees(RandomForest.fit(train, target: .classification(classes: 2), parameters: forest)),
            metrics: ["accuracy": 0.9], confusionMatrix: [[1, 0], [0, 1]],
            reference: ["a": FeatureStatistics(values: train.columns[0])], trainedAt: Date(timeIntervalSince1970: 1e9))
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("trees-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let written = try ArtifactStore.write(artifact, manifestYAML: "name: m\n", root: root)
        let loaded = try ArtifactStore.load(from: written.path, expectedSHA256: written.sha256)
        #expect(loaded == artifact)
        for index in 0..<50 {
            #expect(loaded.output(encoded: train.row(index)) == artifact.output(encoded: train.row(index)))
        }
        // A truncated tree file is refused with a reason, not loaded half.
        let treeFile = written.path.appendingPathComponent("trees.bin")
        let bytes = try Data(contentsOf: treeFile)
        try bytes.prefix(bytes.count - 3).write(to: treeFile)
        #expect(throws: ArtifactStore.LoadError.self) {
            try ArtifactStore.load(from: written.path, expectedSHA256: nil)
        }
    }

    @Test("CSV: numbers parse exactly, NA markers are missing, junk is reported by row")
    func csvNumbers() throws {
        let table = try CSVTable(bytes: Array("x\n0.1\n-2.5e3\nNA\n\"7\"\nabc\n123456789012345678901\n".utf8))
        let (values, invalid) = table.numbers(column: 0)
        #expect(values[0] == 0.1 && values[1] == -2500 && values[2].isNaN && values[3] == 7)
        #expect(invalid == [4])
        #expect(values[5] == 123_456_789_012_345_678_901.0)
        #expect(table.slice(1..<3).field(row: 0, column: 0) == "-2.5e3")
        #expect(table.slice(1..<3).line(ofRow: 1) == 4)
    }

    @Test("missing and unknown-category policies: impute, native, ignore, reject")
    func featurePolicies() throws {
        let yaml = """
            name: m
            task: regression
            data: {path: d.csv, split: {test_fraction: 0.5}}
            target: y
            features:
              - {name: a, type: numeric, missing: impute}
              - {name: c, type: categorical, missing: impute, unknown: ignore}
              - {name: d, type: date}
            model: {algorithm: gradient_boosting, params: {iterations: 5, min_samples_leaf: 1}}
            """
        let manifest = try Manifest.parse(yaml)
        let table = try CSVTable(
            bytes: Array("a,c,d,y\n1,x,2024-01-01,1\n,x,2024-01-02,2\n3,,2024-01-03,3\n5,z,2024-01-04,4\n".utf8))
        let builder = DatasetBuilder(manifest: manifest)
        let features = try builder.resolvedFeatures(from: table, file: "t")
        #expect(features[0].fill == 3)
        #expect(features[1].fillCategory == "x")
        let data = try builder.build(table, file: "t", features: features)
        #expect(data.columns[0] == [1, 3, 3, 5])
        #expect(data.columns[1] == [1, 1, 1, 0] && data.columns[2] == [0, 0, 0, 1])
        #expect(data.columns[3][0] == Double(CalendarDay("2024-01-01")!.ordinal))
        let encoder = FeatureEncoder(features: features)
        #expect(
            encoder.encode { ["a": .number(2), "c": .text("new"), "d": .text("2024-02-30")][$0] }
                == .problems([FeatureProblem(field: "d", problem: "must be a date (YYYY-MM-DD)")]))
        #expect(encoder.encode { ["a": .number(2), "c": .text("new"), "d": .text("2024-02-29")][$0] } != .problems([]))
        // Native missing values are refused for a linear model, naming the key.
        #expect(throws: Manifest.Problem.self) {
            try Manifest.parse(
                yaml.replacingOccurrences(of: "missing: impute}", with: "missing: native}")
                    .replacingOccurrences(
                        of: "gradient_boosting, params: {iterations: 5, min_samples_leaf: 1}", with: "linear_regression"
                    ))
        }
        // Unknown parameters and out-of-range values name model.params.<key>.
        do {
            _ = try Manifest.parse(yaml.replacingOccurrences(of: "iterations: 5", with: "iteratons: 5"))
            Issue.record("a misspelt parameter was accepted")
        } catch let problem as Manifest.Problem {
            #expect(problem.key == "model.params.iteratons")
        }
        do {
            _ = try Manifest.parse(yaml.replacingOccurrences(of: "iterations: 5", with: "iterations: 2.5"))
            Issue.record("a fractional iteration count was accepted")
        } catch let problem as Manifest.Problem {
            #expect(problem.key == "model.params.iterations")
        }
    }

    @Test("calendar days: ordinals, weekdays and leap years")
    func calendarDays() {
        #expect(CalendarDay("1970-01-01")?.ordinal == 0)
        #expect(CalendarDay("2024-02-29")?.description == "2024-02-29")
        #expect(CalendarDay("2023-02-29") == nil)
        #expect(CalendarDay("2024-11-22")?.weekday == 4)  // a Friday
        #expect(CalendarDay("2024-12-31")?.dayOfYear == 366)
        #expect(CalendarDay("1969-12-31")?.ordinal == -1)
    }

    @Test("forecast: a weekly seasonal series is predicted recursively with dates")
    func seasonalForecast() throws {
        let start = CalendarDay("2023-01-02")!
        var text = "day,views\n"
        for index in 0..<400 {
            let value = 100 + 20 * sin(2 * Double.pi * Double(index) / 7)
            text += "\(CalendarDay(ordinal: start.ordinal + index)),\(value)\n"
        }
        let table = try CSVTable(bytes: Array(text.utf8))
        let manifest = try Manifest.parse(
            """
            name: views
            task: forecast
            data: {path: d.csv, split: {test_fraction: 0.1}}
            target: views
            forecast: {date: day, lags: [1, 7, 14], windows: [7]}
            model: {algorithm: gradient_boosting, params: {iterations: 200}}
            """)
        let trained = try ModelTraining.train(
            manifest: manifest, train: table.slice(0..<360), test: table.slice(360..<400), log: { _ in })
        #expect(trained.artifact.metrics["rmse"]! < 1.5, "\(trained.artifact.metrics)")
        let artifact = trained.artifact
        let ahead = artifact.forecast!.forecast(horizon: 7) { artifact.predict(encoded: $0) }
        #expect(ahead.map(\.date).first == CalendarDay(ordinal: start.ordinal + 400).description)
        for (offset, point) in ahead.enumerated() {
            let expected = 100 + 20 * sin(2 * Double.pi * Double(400 + offset) / 7)
            #expect(abs(point.value - expected) < 3, "\(point)")
        }
        // Gaps in the dates are an error naming them.
        let gappy = try CSVTable(bytes: Array("day,views\n2024-01-01,1\n2024-01-02,2\n2024-01-04,3\n".utf8))
        #expect(throws: DataProblem.self) {
            try ModelTraining.train(
                manifest: manifest, train: gappy.slice(0..<2), test: gappy.slice(2..<3), log: { _ in })
        }
    }
}
