import Foundation

/// Conveyor's own evaluation of a repository's Python model: the test split
/// goes through the same worker protocol serving uses (a worker started on
/// the trained model), and the metrics, confusion matrix and reference
/// statistics are computed here exactly as for every other format. A model
/// that cannot load, or answers non-finite numbers or unknown labels, fails
/// here, before it can deploy.
public enum PythonModelEvaluation {
    /// Rows per request to the worker.
    static let batchRows = 2000

    /// The spec the worker reads (`spec.json`): the task, the target and the features' names and kinds.
    public static func spec(_ manifest: Manifest) -> Data {
        var object: [String: Any] = [
            "task": manifest.task.rawValue, "target": manifest.target,
            "features": manifest.features.map { ["name": $0.name, "type": $0.type.rawValue] },
        ]
        if let date = manifest.forecast?.date { object["date_column"] = date }
        return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
    }

    /// Each row of `table` as the JSON array a worker gets (values in `features` order, canonical JSON).
    public static func rows(of table: CSVTable, features: [FeatureSpec]) throws -> [String] {
        let columns = try features.map { feature -> Int in
            guard let column = table.column(feature.name) else {
                throw DataProblem(problem: "test data: has no column \"\(feature.name)\"")
            }
            return column
        }
        return (0..<table.rowCount).map { row in
            "["
                + zip(features, columns).map { feature, column in
                    let raw = table.field(row: row, column: column)
                    return (CSVTable.isMissing(raw) ? FeatureValue.missing : .text(raw)).canonicalJSON(
                        type: feature.type)
                }.joined(separator: ",") + "]"
        }
    }

    /// Scores the worker's model on the test split; `model` is what the artifact will record.
    public static func evaluate(
        manifest: Manifest, train: CSVTable, test: CSVTable, worker: PythonWorker, model: PythonModel,
        timeout: Duration, log: (String) -> Void
    ) throws -> TrainedModel {
        if manifest.task == .forecast {
            return try forecast(
                manifest: manifest, train: train, test: test, worker: worker, model: model, timeout: timeout)
        }
        let builder = DatasetBuilder(manifest: manifest)
        let features = try builder.resolvedFeatures(from: train, file: "train data")
        let classes = manifest.task == .classification ? try builder.classes(from: train, file: "train data") : nil
        let trainData = try builder.build(train, file: "train data", features: features, classes: classes)
        let testData = try builder.build(test, file: "test data", features: features, classes: classes)
        let rows = try rows(of: test, features: features)
        var model = model
        model.example = rows.first
        var outputs: [[Double]] = []
        outputs.reserveCapacity(rows.count)
        let names = features.map(\.name)
        var start = 0
        while start < rows.count {
            let batch = rows[start..<min(rows.count, start + batchRows)]
            let answer = try worker.predict(
                columns: names, rows: "[" + batch.joined(separator: ",") + "]", classes: classes, timeout: timeout)
            try outputs += self.outputs(answer, classes: classes, rows: batch.count, firstRow: start)
            start += batch.count
        }
        log(
            "evaluated the Python model on \(testData.count) test rows through its worker"
                + (classes != nil && outputs.first.map { $0.filter { $0 > 0 && $0 < 1 }.isEmpty } == true
                    ? " (no predict_proba: each label counts with probability 1)" : ""))
        let scored = ModelTraining.score(outputs: outputs, on: testData, classes: classes)
        return TrainedModel(
            artifact: ModelArtifact(
                trainedFor: manifest, features: features, classes: classes, predictor: .python(model),
                metrics: scored.metrics, confusionMatrix: scored.confusion,
                reference: FeatureStatistics.reference(features: features, data: trainData),
                predictionReference: scored.predictions,
                targetReference: FeatureStatistics.target(trainData.target, classes: classes)),
            trainRows: trainData.count, testRows: testData.count)
    }

    /// One output per row: the value, or the class probabilities (predict_proba's, or
    /// the predicted label's one-hot row when the module has none).
    public static func outputs(_ answer: PythonPrediction, classes: [String]?, rows: Int, firstRow: Int) throws
        -> [[Double]]
    {
        guard answer.count == rows else {
            throw DataProblem(problem: "predict returned \(answer.count) values for \(rows) rows")
        }
        guard let classes else {
            if let bad = answer.values.firstIndex(where: { !$0.isFinite }) {
                throw DataProblem(problem: "predict returned \(answer.values[bad]) for test row \(firstRow + bad + 1)")
            }
            return answer.values.map { [$0] }
        }
        if let probabilities = answer.probabilities {
            return probabilities
        }
        let index = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
        return try answer.labels.map { label in
            guard let position = index[label] else {
                throw DataProblem(problem: "predict returned the label \"\(label)\", not one of \(classes)")
            }
            var row = [Double](repeating: 0, count: classes.count)
            row[position] = 1
            return row
        }
    }

    private static func forecast(
        manifest: Manifest, train: CSVTable, test: CSVTable, worker: PythonWorker, model: PythonModel,
        timeout: Duration
    ) throws -> TrainedModel {
        guard let spec = manifest.forecast else { throw DataProblem(problem: "forecast: is required") }
        let trainSeries = try DatedSeries(
            table: train, dateColumn: spec.date, target: manifest.target, file: "train data")
        let testSeries = try DatedSeries(table: test, dateColumn: spec.date, target: manifest.target, file: "test data")
        guard let last = trainSeries.days.last, !testSeries.values.isEmpty else {
            throw DataProblem(problem: "a forecast needs training and test rows")
        }
        let step = try trainSeries.step(file: "train data")
        let predicted = try worker.forecast(horizon: testSeries.values.count, timeout: timeout)
        guard predicted.count == testSeries.values.count else {
            throw DataProblem(
                problem: "predict returned \(predicted.count) values for \(testSeries.values.count) steps")
        }
        if let bad = predicted.firstIndex(where: { !$0.isFinite }) {
            throw DataProblem(problem: "predict returned \(predicted[bad]) for step \(bad + 1)")
        }
        // Dates continue after the training data, as the module's predict(model, horizon) does.
        let forecast = ForecastModel(
            dateColumn: spec.date, lags: [], windows: [], step: step, maxHorizon: spec.resolvedMaxHorizon,
            lastDate: last.description, history: [])
        var model = model
        model.example = nil
        return TrainedModel(
            artifact: ModelArtifact(
                trainedFor: manifest, features: [], predictor: .python(model), forecast: forecast,
                metrics: ModelTraining.finite(RegressionMetrics.all(testSeries.values, predicted)),
                reference: [manifest.target: FeatureStatistics(values: trainSeries.values)],
                predictionReference: FeatureStatistics(values: predicted),
                targetReference: FeatureStatistics(values: trainSeries.values)),
            trainRows: trainSeries.values.count, testRows: testSeries.values.count)
    }
}
