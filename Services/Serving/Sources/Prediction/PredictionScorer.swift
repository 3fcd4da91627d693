import DurationUnits
import Foundation
import HTTPTypes
import Hummingbird
import JSON
import Learning
import ServiceKit

/// Prediction, whatever the transport (`POST /predict` as JSON or CSV, the
/// Open Inference Protocol over HTTP and gRPC, the dashboard's form): each
/// decodes its request and calls `answer` once, which pins the model serving
/// now, validates the instances against its features, predicts and records the
/// answer (counters and the prediction log). Rejections are counted around the
/// routes (`PredictionRejectionCounting`).
final class PredictionScorer: Sendable {
    let store: ModelStore
    let log: PredictionLog
    let maxBodyBytes: Int
    let maxInstances: Int
    /// `PREDICTION_ID_FIELD`: a field of each instance logged as its business id, never a model input.
    let idField: String?

    init(store: ModelStore, log: PredictionLog, maxBodyBytes: Int, maxInstances: Int, idField: String? = nil) {
        self.store = store
        self.log = log
        self.maxBodyBytes = maxBodyBytes
        self.maxInstances = maxInstances
        self.idField = idField
    }

    /// A request in progress: the model it answers with (to the end, even
    /// across a swap), its id and when it started.
    struct Call: Sendable {
        let model: LoadedModel
        let requestID: String
        let start: ContinuousClock.Instant
        var version: String { model.deployment.version }
        var classes: [String] { model.artifact.classes ?? [] }
    }

    /// The model a route answers with: the `name` path parameter of a `/models/{name}/…` route,
    /// or the only model served (see `ModelStore.resolve`). Taken once per request: the call
    /// keeps it to the end, even across a swap.
    func model(_ context: AppRequestContext) async throws -> LoadedModel {
        try await store.resolve(context.parameters.get("name"))
    }

    /// What a transport decoded from its request, against the model the call answers with.
    enum Instances {
        /// `count` instances (`countField` names their number in errors); `field(i)` prefixes the
        /// problems of instance `i`; `value(i, name)` is a feature's value in instance `i`.
        case rows(
            count: Int, countField: String, field: (Int) -> String, value: (Int, String) -> FeatureValue?)
        /// A forecast model's next `horizon` values; `logged` is the request as the log keeps it.
        case horizon(Int, logged: String)
    }

    /// What a call answered: its model and id, one output per instance (or per forecast step)
    /// and, for a forecast, the date of each step; with `explain`, one explanation per output.
    struct Answer {
        let call: Call
        let outputs: [PredictedValue]
        let dates: [String]
        var explanations: [Explanation] = []
        var version: String { call.version }
        var requestID: String { call.requestID }
        var classes: [String] { call.classes }
    }

    /// The one prediction use case every transport calls once: `model` (the live version the
    /// route resolved, kept to the end, even across a swap), the transport's `decode` against it, validation of every
    /// instance (a 422 listing every problem), the prediction, and the log entry. Whatever the
    /// transport still checks must be checked in `decode`: what is logged is what is answered.
    /// `explain` adds each answer's explanation (a 422 naming the format where there is none).
    func answer(
        requestID: String, model: LoadedModel, explain: Bool = false, _ decode: (LoadedModel) throws -> Instances
    ) async throws -> Answer {
        let call = Call(model: model, requestID: requestID, start: .now)
        let explainer = explain ? try Self.explainer(of: call.model) : nil
        switch try decode(call.model) {
        case .rows(let count, let countField, let field, let value):
            try checkCount(count, field: countField)
            var scored = try predict(call, count: count, field: field, lookup: value, explainer: explainer)
            if let pool = call.model.python {
                scored.outputs = try await Self.answer(pool, call: call, rows: scored.pythonRows, count: count)
            }
            finish(call, inputs: scored.loggedInputs, outputs: scored.outputs)
            return Answer(call: call, outputs: scored.outputs, dates: [], explanations: scored.explanations)
        case .horizon(let horizon, let logged):
            guard let forecast = call.model.artifact.forecast else {
                throw APIError.validation([FieldProblem(field: "horizon", problem: "this model is not a forecast")])
            }
            let values: [(date: String, value: Double)]
            var explanations: [Explanation] = []
            if let pool = call.model.python {
                // The module continues after its training data; the dates follow the series' step.
                let predicted = try await PythonErrors.mapped {
                    try await pool.forecast(horizon: horizon, requestID: call.requestID)
                }
                var steps = predicted.makeIterator()
                values = forecast.forecast(horizon: horizon) { _ in steps.next() ?? .nan }
            } else {
                values = forecast.forecast(horizon: horizon) { inputs in
                    // Each step is explained over its own lag and calendar inputs.
                    if let explainer { explanations.append(explainer.explain(encoded: inputs)) }
                    return call.model.artifact.predict(encoded: inputs)
                }
            }
            let outputs = values.map { PredictedValue(output: .value($0.value), classes: []) }
            finish(call, inputs: logged, outputs: outputs)
            return Answer(call: call, outputs: outputs, dates: values.map(\.date), explanations: explanations)
        }
    }

    /// The model's explainer, or a 422 naming its format and why it has none.
    private static func explainer(of model: LoadedModel) throws -> ModelExplainer {
        switch model.explainer {
        case .success(let explainer): return explainer
        case .failure(let unavailable):
            throw APIError.validation([FieldProblem(field: "explain", problem: unavailable.description)])
        }
    }

    /// Collects the body up to the configured limit (413 beyond it, 400 when it cannot be read).
    func body(of request: Request) async throws -> ByteBuffer {
        try await request.collectBody(upTo: maxBodyBytes)
    }

    /// 422 unless `count` instances is within 1…maxInstances.
    private func checkCount(_ count: Int, field: String) throws {
        guard count >= 1, count <= maxInstances else {
            throw APIError.validation([
                FieldProblem(field: field, problem: "must hold 1 to \(maxInstances) instances, got \(count)")
            ])
        }
    }

    /// The answers of a call, and its instances as the log keeps them (`LoggedInstance`); for a
    /// Python model, no answers yet but the validated rows its workers get (a JSON array of arrays).
    struct Scored {
        var outputs: [PredictedValue]
        let loggedInputs: String
        var pythonRows: String = ""
        var explanations: [Explanation] = []
    }

    /// A Python model's answers for the call's validated rows, from one of its workers.
    private static func answer(_ pool: PythonWorkerPool, call: Call, rows: String, count: Int) async throws
        -> [PredictedValue]
    {
        let artifact = call.model.artifact
        let prediction = try await PythonErrors.mapped {
            try await pool.predict(
                columns: artifact.features.map(\.name), rows: rows, count: count, classes: artifact.classes,
                requestID: call.requestID)
        }
        guard prediction.count == count else {
            throw APIError(.internalServerError, "the Python model answered \(prediction.count) of \(count) rows")
        }
        guard let classes = artifact.classes else {
            return prediction.values.map { PredictedValue(output: .value($0), classes: []) }
        }
        let positions = Dictionary(classes.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        return prediction.labels.enumerated().map { index, label in
            // Without predict_proba the label is certain: probability 1 for it, 0 for the others.
            let probabilities =
                prediction.probabilities?[index]
                ?? classes.indices.map { $0 == positions[label] ? 1 : 0 }
            return PredictedValue(output: .label(label, probabilities: probabilities), classes: classes)
        }
    }

    /// Predicts `count` instances whose feature values `lookup` gives, or
    /// throws 422 listing every problem of every instance (named by `field`).
    private func predict(
        _ call: Call, count: Int, field: (Int) -> String, lookup: (Int, String) -> FeatureValue?,
        explainer: ModelExplainer?
    ) throws -> Scored {
        var problems: [FieldProblem] = []
        var predictions: [PredictedValue] = []
        var explanations: [Explanation] = []
        predictions.reserveCapacity(count)
        let classes = call.classes
        let features = call.model.artifact.features
        // The business id, unless a feature has its name (then it is a model input, logged as one).
        let loggedID = idField.flatMap { field in features.contains { $0.name == field } ? nil : field }
        var logged = "["
        let python = call.model.python != nil
        var pythonRows = "["
        for index in 0..<count {
            var instance = LoggedInstance()
            var position = 0
            var row = "["
            let encoded = call.model.encoder.encode { name in
                let value = lookup(index, name)
                // The encoder asks for the features in order.
                if position < features.count {
                    instance.append(features[position], value)
                    if python {
                        if position > 0 { row += "," }
                        row += (value ?? .missing).canonicalJSON(type: features[position].type)
                    }
                    position += 1
                }
                return value
            }
            if let idField = loggedID, let id = lookup(index, idField) {
                instance.appendID(idField, id)
            }
            if index > 0 { logged += "," }
            logged += instance.json
            switch encoded {
            case .vector where python:
                if index > 0 { pythonRows += "," }
                pythonRows += row + "]"
            case .vector(let row):
                let output = call.model.artifact.output(encoded: row)
                guard Self.isFinite(output) else {
                    // e.g. 1e308 into a linear model with no declared range: JSON has no infinity.
                    problems.append(
                        FieldProblem(
                            field: field(index) + "prediction",
                            problem: "is not a finite number for these inputs (values far outside the training data?)"))
                    continue
                }
                predictions.append(PredictedValue(output: output, classes: classes))
                if let explainer { explanations.append(explainer.explain(encoded: row)) }
            case .problems(let found):
                let prefix = field(index)
                problems += found.map { FieldProblem(field: prefix + $0.field, problem: $0.problem) }
            }
        }
        guard problems.isEmpty else { throw APIError.validation(problems) }
        return Scored(
            outputs: predictions, loggedInputs: logged + "]", pythonRows: pythonRows + "]", explanations: explanations)
    }

    /// Whether every number of an output is finite.
    static func isFinite(_ output: ModelArtifact.Output) -> Bool {
        switch output {
        case .value(let value): value.isFinite
        case .label(_, let probabilities): probabilities.allSatisfy(\.isFinite)
        }
    }

    /// The value a JSON field gives a feature; a string for a numeric feature is a type error.
    func featureValue(_ value: JSONValue?, feature name: String, model: LoadedModel) -> FeatureValue? {
        guard let value else { return nil }
        switch value {
        case .null: return .missing
        case .number(let number): return .number(number)
        case .bool(let flag): return .bool(flag)
        case .string(let text): return model.numericFeatures.contains(name) ? .invalid("a string") : .text(text)
        case .array, .object: return .invalid(value.kindName)
        }
    }

    /// Counts the answers and queues the log entry (never on Postgres's clock).
    private func finish(_ call: Call, inputs: String, outputs: [PredictedValue]) {
        let elapsed = ContinuousClock.now - call.start
        let micros = elapsed.inMicroseconds
        call.model.predictions.increment(by: outputs.count)
        log.record(
            PredictionLogEntry(
                loggedAt: Date(), requestID: call.requestID, modelVersion: call.version,
                inputs: Self.storable(inputs), outputs: Self.json(outputs), latencyMicroseconds: micros,
                tokenName: PredictionCaller.tokenName))
    }

    /// Response headers naming the model version and the request.
    static func headers(_ answer: Answer, contentType: String) -> HTTPFields {
        [.contentType: contentType, .xModelVersion: answer.version, .xRequestID: answer.requestID]
    }

    private static func json(_ outputs: [PredictedValue]) -> String {
        if outputs.count == 1, case .value(let value) = outputs[0].output { return "[\(JSONText.number(value))]" }
        return (try? JSONEncoder().encode(outputs)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
    }

    /// Whether the text holds `u0000` (a byte scan; Foundation's `contains` showed in profiles).
    private static func containsNULEscape(_ text: String) -> Bool {
        let pattern = Array("u0000".utf8)
        var matched = 0
        for byte in text.utf8 {
            matched = byte == pattern[matched] ? matched + 1 : (byte == pattern[0] ? 1 : 0)
            if matched == pattern.count { return true }
        }
        return false
    }

    /// jsonb cannot hold U+0000: a `\u0000` escape would make Postgres refuse the whole batch.
    private static func storable(_ json: String) -> String {
        containsNULEscape(json) ? json.replacingOccurrences(of: "\\u0000", with: "\\ufffd") : json
    }
}
