import Foundation
import JSON
import Learning
import ServiceKit

/// The Open Inference Protocol's `infer`, whatever carried it (HTTP
/// `POST /v2/models/{name}/infer` or gRPC `ModelInfer`): the request as JSON
/// tensors (binary and typed contents already decoded into `data`), checked
/// with the same validation as `POST /predict`, predicted, and answered with
/// the protocol's output tensors.
enum ProtocolInference {
    /// What a call answered: every output tensor, the predictions, and what the log keeps.
    struct Answer {
        let outputs: [InferenceTensors.Output]
        let predictions: [PredictedValue]
        let logged: String
    }

    /// Answers `request` (an object with `inputs`, and optionally `id` and `outputs`).
    /// - Parameter forecastRequest: the request as the log keeps it for a forecast model,
    ///   which logs its whole request rather than feature rows (made only for a forecast).
    static func answer(
        _ request: [String: JSONValue], call: PredictionScorer.Call, scorer: PredictionScorer,
        forecastRequest: () throws -> String
    ) throws -> Answer {
        guard case .array(let rawInputs) = request["inputs"] ?? .null, !rawInputs.isEmpty else {
            throw APIError.validation([FieldProblem(field: "inputs", problem: "must be a non-empty array of tensors")])
        }
        let tensors = try rawInputs.enumerated().map { try InferenceTensors.tensor($1, index: $0) }
        guard let forecast = call.model.artifact.forecast else {
            let (count, lookup) = try InferenceTensors.instances(tensors, features: call.model.artifact.features)
            try scorer.checkCount(count, field: "inputs[*].shape[0]")
            let field: (Int) -> String = { "instance \($0): " }
            let scored = try scorer.predict(call, count: count, field: field) { row, name in
                lookup(row, name).flatMap { scorer.featureValue($0, feature: name, model: call.model) }
            }
            return Answer(
                outputs: InferenceTensors.outputs(scored.outputs, classes: call.classes), predictions: scored.outputs,
                logged: scored.loggedInputs)
        }
        guard tensors.count == 1, tensors[0].name == "horizon", let horizon = tensors[0].data.first else {
            throw APIError.validation([
                FieldProblem(field: "inputs", problem: "a forecast model takes one tensor \"horizon\" of shape [1]")
            ])
        }
        let steps = try PredictController.horizon(["horizon": horizon], forecast: forecast)
        let values = forecast.forecast(horizon: steps) { call.model.artifact.predict(encoded: $0) }
        return Answer(
            outputs: [
                .init(name: "date", datatype: "BYTES", shape: [steps], data: values.map { .string($0.date) }),
                .init(name: "value", datatype: "FP64", shape: [steps], data: values.map { .number($0.value) }),
            ],
            predictions: values.map { PredictedValue(output: .value($0.value), classes: []) },
            logged: try forecastRequest())
    }

    /// The outputs a request asks for (all when it names none) and which of them go as
    /// binary data: `parameters.binary_data_output`, or an output's own `parameters.binary_data`.
    static func requestedOutputs(_ request: [String: JSONValue], available: [InferenceTensors.Output]) throws
        -> ([InferenceTensors.Output], Set<String>)
    {
        let allBinary = request["parameters"]?["binary_data_output"]?.boolValue ?? false
        guard let requested = request["outputs"] else {
            return (available, allBinary ? Set(available.map(\.name)) : [])
        }
        guard case .array(let items) = requested else {
            throw APIError.validation([FieldProblem(field: "outputs", problem: "must be an array of {\"name\"}")])
        }
        var selected: [InferenceTensors.Output] = []
        var binary: Set<String> = []
        var problems: [FieldProblem] = []
        for (index, item) in items.enumerated() {
            guard let name = item["name"]?.stringValue, let output = available.first(where: { $0.name == name }) else {
                problems.append(
                    FieldProblem(
                        field: "outputs[\(index)].name",
                        problem: "must be one of \(available.map(\.name).joined(separator: ", "))"))
                continue
            }
            selected.append(output)
            if item["parameters"]?["binary_data"]?.boolValue ?? allBinary { binary.insert(name) }
        }
        guard problems.isEmpty else { throw APIError.validation(problems) }
        return (selected, binary)
    }

    /// The loaded model when `name` names it: 503 before a deployment, 404 for another name.
    static func served(_ name: String, store: ModelStore) throws -> LoadedModel {
        guard let model = store.model else { throw APIError(.serviceUnavailable, "no model is deployed yet") }
        guard name == model.artifact.name else {
            throw APIError(
                .notFound, "model \"\(name)\" is not served here; this server serves \"\(model.artifact.name)\"")
        }
        return model
    }

    /// An error's message as the protocol's clients show it: they show only
    /// the message (tritonclient), so it names the first problems.
    static func message(_ error: APIError) -> String {
        var message = error.message
        if error.problems.count > 1 {
            message += ": " + error.problems.prefix(3).map { "\($0.field): \($0.problem)" }.joined(separator: "; ")
            if error.problems.count > 3 { message += "; …" }
        }
        return message
    }
}
