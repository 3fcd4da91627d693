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
    /// What a call answered: the output tensors asked for, which of them go as binary data, and
    /// the prediction itself.
    struct Answer {
        let outputs: [InferenceTensors.Output]
        let binary: Set<String>
        let prediction: PredictionScorer.Answer
    }

    /// Answers `request` (an object with `inputs`, and optionally `id` and `outputs`) through
    /// the one prediction path; the requested outputs are checked before anything is predicted.
    /// - Parameter forecastRequest: the request as the log keeps it for a forecast model,
    ///   which logs its whole request rather than feature rows (made only for a forecast).
    static func answer(
        _ request: [String: JSONValue], requestID: String, model: LoadedModel, scorer: PredictionScorer,
        forecastRequest: () throws -> String
    ) async throws -> Answer {
        var requested: (names: [String], binary: Set<String>) = ([], [])
        // Explanations cost: computed only when an output asks for them by name.
        let explain =
            request["outputs"]?.arrayValue?.contains {
                $0["name"]?.stringValue.map(explanationOutputs.contains) ?? false
            } ?? false
        let prediction = try await scorer.answer(requestID: requestID, model: model, explain: explain) { model in
            guard case .array(let rawInputs) = request["inputs"] ?? .null, !rawInputs.isEmpty else {
                throw APIError.validation([
                    FieldProblem(field: "inputs", problem: "must be a non-empty array of tensors")
                ])
            }
            let tensors = try rawInputs.enumerated().map { try InferenceTensors.tensor($1, index: $0) }
            let forecast = model.artifact.forecast
            let available =
                forecast != nil
                ? ["date", "value"]
                : (model.artifact.classes ?? []).isEmpty ? ["prediction"] : ["label", "probabilities"]
            requested = try requestedOutputs(request, available: available + explanationOutputs, default: available)
            guard let forecast else {
                let (count, lookup) = try InferenceTensors.instances(tensors, features: model.artifact.features)
                return .rows(count: count, countField: "inputs[*].shape[0]", field: { "instance \($0): " }) {
                    row, name in lookup(row, name).flatMap { scorer.featureValue($0, feature: name, model: model) }
                }
            }
            guard tensors.count == 1, tensors[0].name == "horizon", let horizon = tensors[0].data.first else {
                throw APIError.validation([
                    FieldProblem(field: "inputs", problem: "a forecast model takes one tensor \"horizon\" of shape [1]")
                ])
            }
            let steps = try PredictController.horizon(["horizon": horizon], forecast: forecast)
            return .horizon(steps, logged: try forecastRequest())
        }
        let all: [InferenceTensors.Output] =
            prediction.dates.isEmpty
            ? InferenceTensors.outputs(prediction.outputs, classes: prediction.classes)
            : [
                .init(
                    name: "date", datatype: "BYTES", shape: [prediction.dates.count],
                    data: prediction.dates.map { .string($0) }),
                .init(
                    name: "value", datatype: "FP64", shape: [prediction.outputs.count],
                    data: prediction.outputs.map { .number($0.number) }),
            ]
        let explained =
            prediction.explanations.isEmpty
            ? [] : InferenceTensors.explanationOutputs(prediction.explanations, classes: prediction.classes)
        let outputs = requested.names.compactMap { name in (all + explained).first { $0.name == name } }
        return Answer(outputs: outputs, binary: requested.binary, prediction: prediction)
    }

    /// The outputs only answered when asked for by name: `contributions` (`[N, F]`, or
    /// `[N, C, F]` for a classifier) and `base_value` (`[N]` or `[N, C]`).
    static let explanationOutputs = ["contributions", "base_value"]

    /// The outputs a request asks for, of those `available` (all when it names none), and which
    /// of them go as binary data: `parameters.binary_data_output`, or an output's own `parameters.binary_data`.
    /// `default` is what a request naming no outputs gets (all of `available` when nil).
    static func requestedOutputs(_ request: [String: JSONValue], available: [String], default: [String]? = nil)
        throws -> (names: [String], binary: Set<String>)
    {
        let allBinary = request["parameters"]?["binary_data_output"]?.boolValue ?? false
        guard let requested = request["outputs"] else {
            let names = `default` ?? available
            return (names, allBinary ? Set(names) : [])
        }
        guard case .array(let items) = requested else {
            throw APIError.validation([FieldProblem(field: "outputs", problem: "must be an array of {\"name\"}")])
        }
        var selected: [String] = []
        var binary: Set<String> = []
        var problems: [FieldProblem] = []
        for (index, item) in items.enumerated() {
            guard let name = item["name"]?.stringValue, available.contains(name) else {
                problems.append(
                    FieldProblem(
                        field: "outputs[\(index)].name", problem: "must be one of \(available.joined(separator: ", "))")
                )
                continue
            }
            selected.append(name)
            if item["parameters"]?["binary_data"]?.boolValue ?? allBinary { binary.insert(name) }
        }
        guard problems.isEmpty else { throw APIError.validation(problems) }
        return (selected, binary)
    }

    /// The loaded model when `name` names it: 503 before any deployment, 404 (naming the models
    /// served) for another name.
    static func served(_ name: String, store: ModelStore) async throws -> LoadedModel {
        try await store.resolve(name)
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
