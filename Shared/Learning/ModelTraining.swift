import Foundation

/// validate → train → evaluate for any task, shared by the trainer service
/// and `trainer train`. Throws `DataProblem`s that name lines and columns.
public enum ModelTraining {
    /// Trains on `train` and scores on `test`; `log` gets a line per step.
    /// `onnx` is the committed model file when the manifest names one.
    public static func train(
        manifest: Manifest, train: CSVTable, test: CSVTable, log: (String) -> Void,
        progress: TrainingProgress? = nil, onnx: Data? = nil
    ) throws -> TrainedModel {
        if manifest.task == .forecast {
            return try trainForecast(manifest: manifest, train: train, test: test, log: log, progress: progress)
        }
        let builder = DatasetBuilder(manifest: manifest)
        let features = try builder.resolvedFeatures(from: train, file: "train data")
        let classes = manifest.task == .classification ? try builder.classes(from: train, file: "train data") : nil
        let trainData = try builder.build(train, file: "train data", features: features, classes: classes)
        let testData = try builder.build(test, file: "test data", features: features, classes: classes)
        if let classes, classes.count < 2 {
            throw DataProblem(problem: "target \"\(manifest.target)\" has a single class in the training data")
        }
        if classes == nil, Set(trainData.target).count < 2 {
            throw DataProblem(problem: "target \"\(manifest.target)\" has a single value in the training data")
        }
        log("validated \(trainData.count) training and \(testData.count) test rows")
        let predictor: Predictor
        if manifest.model.isONNX {
            guard let onnx else { throw DataProblem(problem: "model.path: the ONNX file was not read") }
            var model = try ONNXPredictor(data: onnx, features: features, classes: classes)
            log(
                "loaded the ONNX model (\(model.model.producer.isEmpty ? "unknown producer" : model.model.producer); opsets \(model.model.opsets.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")); \(model.model.operatorsUsed.count) operators)"
            )
            model.learnCovers(from: trainData, log: log)
            predictor = .onnx(model)
        } else {
            predictor = Algorithms.fit(manifest.model, data: trainData, classes: classes?.count, progress: progress)
        }
        let artifactShape = ModelArtifact(
            name: manifest.name, version: "", task: manifest.task, algorithm: manifest.model.algorithm,
            target: manifest.target, features: features, classes: classes, predictor: predictor, metrics: [:],
            reference: [:], trainedAt: .distantPast)
        let scored: Scored
        do {
            scored = try score(artifactShape, on: testData)
        } catch {
            throw DataProblem(problem: "the ONNX model does not run on the test data: \(error)")
        }
        return TrainedModel(
            artifact: ModelArtifact(
                trainedFor: manifest, features: features, classes: classes, predictor: predictor,
                metrics: scored.metrics, confusionMatrix: scored.confusion,
                reference: FeatureStatistics.reference(features: features, data: trainData),
                predictionReference: scored.predictions,
                targetReference: FeatureStatistics.target(trainData.target, classes: classes),
                importance: try? ModelExplainer(artifactShape).importance(testData)),
            trainRows: trainData.count, testRows: testData.count)
    }

    /// Scores an artifact (new or deployed) on the manifest's test data, for "no regression" gates.
    public static func evaluate(_ artifact: ModelArtifact, manifest: Manifest, train: CSVTable, test: CSVTable) throws
        -> [String: Double]
    {
        if case .python = artifact.predictor {
            throw DataProblem(problem: "a Python model predicts through its worker, not in the trainer's process")
        }
        if let forecast = artifact.forecast {
            let trainSeries = try DatedSeries(
                table: train, dateColumn: manifest.forecast?.date ?? forecast.dateColumn, target: manifest.target,
                file: "train data")
            let testSeries = try DatedSeries(
                table: test, dateColumn: manifest.forecast?.date ?? forecast.dateColumn, target: manifest.target,
                file: "test data")
            guard let last = trainSeries.days.last, trainSeries.values.count >= forecast.lookBack else {
                throw DataProblem(problem: "too little training history for the model's lags")
            }
            let predicted = ForecastModel.recursive(
                history: trainSeries.values, after: last, step: forecast.step, count: testSeries.values.count,
                lags: forecast.lags, windows: forecast.windows, predict: { artifact.predict(encoded: $0) })
            return finite(RegressionMetrics.all(testSeries.values, predicted.map(\.value)))
        }
        let data = try DatasetBuilder(manifest: manifest).build(
            test, file: "test data", features: artifact.features, classes: artifact.classes)
        return try score(artifact, on: data).metrics
    }

    /// The model's outputs (a value, or class probabilities) for every row of encoded data;
    /// throws when an ONNX graph cannot run on it.
    public static func outputs(of artifact: ModelArtifact, on data: Dataset) throws -> [[Double]] {
        if case .python = artifact.predictor {
            throw DataProblem(problem: "a Python model predicts through its worker, not in the trainer's process")
        }
        if case .onnx(let model) = artifact.predictor {
            // The graph runs once on the whole batch.
            let rows = (0..<data.count).map { index in (0..<data.width).map { data.columns[$0][index] } }
            return try model.predict(rows: rows)
        }
        var outputs = [[Double]](repeating: [], count: data.count)
        var row = [Double](repeating: 0, count: data.width)
        var output = [Double](repeating: 0, count: artifact.outputCount)
        for index in 0..<data.count {
            for j in 0..<data.width { row[j] = data.columns[j][index] }
            row.withUnsafeBufferPointer { row in
                output.withUnsafeMutableBufferPointer { artifact.predict(row, into: $0) }
            }
            outputs[index] = output
        }
        return outputs
    }

    /// An artifact's metrics on encoded data, and the distribution of its predictions there.
    struct Scored {
        let metrics: [String: Double]
        let confusion: [[Int]]?
        let predictions: FeatureStatistics
    }

    /// Metrics of an artifact's predictions on encoded data.
    static func score(_ artifact: ModelArtifact, on data: Dataset) throws -> Scored {
        try score(outputs: outputs(of: artifact, on: data), on: data, classes: artifact.classes)
    }

    /// Metrics of a model's outputs (a value, or class probabilities, per row of `data`).
    static func score(outputs: [[Double]], on data: Dataset, classes: [String]?) -> Scored {
        guard let classes else {
            let values = outputs.map { $0[0] }
            return Scored(
                metrics: finite(RegressionMetrics.all(data.target, values)), confusion: nil,
                predictions: FeatureStatistics(values: values))
        }
        let truth = data.target.map { Int($0) }
        let predicted = outputs.map { row in row.indices.max { row[$0] < row[$1] } ?? 0 }
        return Scored(
            metrics: finite(ClassificationMetrics.all(truth, probabilities: outputs, classes: classes.count)),
            confusion: ClassificationMetrics.confusionMatrix(truth, predicted, classes: classes.count),
            predictions: FeatureStatistics.target(predicted.map(Double.init), classes: classes))
    }

    static func finite(_ metrics: [String: Double]) -> [String: Double] { metrics.filter { $0.value.isFinite } }

    private static func trainForecast(
        manifest: Manifest, train: CSVTable, test: CSVTable, log: (String) -> Void, progress: TrainingProgress?
    ) throws -> TrainedModel {
        guard let spec = manifest.forecast else { throw DataProblem(problem: "forecast: is required") }
        let trainSeries = try DatedSeries(
            table: train, dateColumn: spec.date, target: manifest.target, file: "train data")
        let testSeries = try DatedSeries(table: test, dateColumn: spec.date, target: manifest.target, file: "test data")
        var whole = trainSeries
        whole.days += testSeries.days
        whole.values += testSeries.values
        let step = try whole.step(file: "the data (train then test)")
        let lags = spec.resolvedLags
        let windows = spec.resolvedWindows
        let lookBack = max(lags.max() ?? 1, windows.max() ?? 1)
        guard trainSeries.values.count >= lookBack + 10 else {
            throw DataProblem(
                problem:
                    "train data: \(trainSeries.values.count) dated rows are too few for a look-back of \(lookBack) steps (need at least \(lookBack + 10))"
            )
        }
        guard !testSeries.values.isEmpty else { throw DataProblem(problem: "test data: has no rows") }
        // Supervised rows: the inputs at each training step after the look-back, and its value.
        var rows: [[Double]] = []
        var targets: [Double] = []
        for index in lookBack..<trainSeries.values.count {
            rows.append(
                ForecastModel.inputs(
                    lags: lags, windows: windows, before: trainSeries.values[..<index], day: trainSeries.days[index]))
            targets.append(trainSeries.values[index])
        }
        let data = Dataset(rows: rows, target: targets)
        log("built \(data.count) forecast rows with \(data.width) inputs (lags \(lags), windows \(windows))")
        let predictor = Algorithms.fit(manifest.model, data: data, classes: nil, progress: progress)
        let forecast = ForecastModel(
            dateColumn: spec.date, lags: lags, windows: windows, step: step, maxHorizon: spec.resolvedMaxHorizon,
            lastDate: whole.days.last!.description, history: Array(whole.values.suffix(lookBack)))
        let shape = ModelArtifact(
            name: manifest.name, version: "", task: .forecast, algorithm: manifest.model.algorithm,
            target: manifest.target, features: [], predictor: predictor, forecast: forecast, metrics: [:],
            reference: [:], trainedAt: .distantPast)
        // Test: forecast the whole test period recursively from the end of training.
        let predicted = ForecastModel.recursive(
            history: trainSeries.values, after: trainSeries.days.last!, step: step, count: testSeries.values.count,
            lags: lags, windows: windows, predict: { shape.predict(encoded: $0) })
        let metrics = finite(RegressionMetrics.all(testSeries.values, predicted.map(\.value)))
        return TrainedModel(
            artifact: ModelArtifact(
                trainedFor: manifest, features: [], predictor: predictor, forecast: forecast, metrics: metrics,
                reference: [manifest.target: FeatureStatistics(values: trainSeries.values)],
                predictionReference: FeatureStatistics(values: predicted.map(\.value)),
                targetReference: FeatureStatistics(values: trainSeries.values),
                importance: try? ModelExplainer(shape).importance(data)),
            trainRows: trainSeries.values.count, testRows: testSeries.values.count)
    }
}
