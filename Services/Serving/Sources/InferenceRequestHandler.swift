import Foundation
import HTTPTypes
import Hummingbird
import Learning
import ServiceKit

/// `POST /v2/models/{name}/infer`. Inputs are either one tensor per feature
/// (named after it, shape `[N]` or `[N, 1]`) or a single `[N, F]` tensor
/// whose columns are the features in the model's order; `data` may be flat or
/// nested row-major. Outputs: `prediction` `[N]`, or `label` `[N]` and
/// `probabilities` `[N, C]`; a forecast model takes `horizon` and returns
/// `date` and `value`.
struct InferenceRequestHandler {
    let scorer: PredictionScorer
    static let datatypes: Set = [
        "BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64",
        "BYTES",
    ]

    /// One input tensor, checked: its shape matches its data.
    struct Tensor {
        let name: String
        let shape: [Int]
        let datatype: String
        let data: [JSONValue]
    }

    struct Output: Encodable {
        let name: String
        let datatype: String
        let shape: [Int]
        let data: [JSONValue]
    }

    private struct Reply: Encodable {
        let model_name: String
        let model_version: String
        let id: String
        let outputs: [Output]
    }

    func handle(_ request: Request) async throws -> Response {
        let call = try scorer.begin()
        let body = try await scorer.body(of: request)
        guard case .object(let object) = (try? JSONValue.parse(body.readableBytesView)) ?? .null else {
            throw APIError(.badRequest, "the body must be a JSON object with \"inputs\"")
        }
        guard case .array(let rawInputs) = object["inputs"] ?? .null, !rawInputs.isEmpty else {
            throw APIError.validation([FieldProblem(field: "inputs", problem: "must be a non-empty array of tensors")])
        }
        let tensors = try rawInputs.enumerated().map { try Self.tensor($1, index: $0) }
        let outputs: [Output]
        let predictions: [PredictedValue]
        if let forecast = call.model.artifact.forecast {
            guard tensors.count == 1, tensors[0].name == "horizon", let horizon = tensors[0].data.first else {
                throw APIError.validation([
                    FieldProblem(field: "inputs", problem: "a forecast model takes one tensor \"horizon\" of shape [1]")
                ])
            }
            let steps = try PredictRoute.horizon(["horizon": horizon], forecast: forecast)
            let values = forecast.forecast(horizon: steps) { call.model.artifact.predict(encoded: $0) }
            predictions = values.map { PredictedValue(output: .value($0.value), classes: []) }
            outputs = [
                Output(name: "date", datatype: "BYTES", shape: [steps], data: values.map { .string($0.date) }),
                Output(name: "value", datatype: "FP64", shape: [steps], data: values.map { .number($0.value) }),
            ]
        } else {
            let (count, lookup) = try Self.instances(tensors, features: call.model.artifact.features)
            try scorer.checkCount(count, field: "inputs[*].shape[0]")
            let field: (Int) -> String = { "instance \($0): " }
            predictions = try scorer.predict(call, count: count, field: field) { row, name in
                lookup(row, name).flatMap { scorer.featureValue($0, feature: name, model: call.model) }
            }
            outputs = Self.outputs(predictions, classes: call.classes)
        }
        let id = object["id"]?.stringValue ?? call.requestID
        scorer.finish(call, inputs: String(buffer: body), outputs: predictions)
        var response = try JSONResponse.make(
            Reply(model_name: call.model.artifact.name, model_version: call.version, id: id, outputs: outputs))
        response.headers[HTTPField.Name("X-Request-Id")!] = call.requestID
        return response
    }

    static func outputs(_ predictions: [PredictedValue], classes: [String]) -> [Output] {
        guard !classes.isEmpty else {
            return [
                Output(
                    name: "prediction", datatype: "FP64", shape: [predictions.count],
                    data: predictions.map { .number($0.number) })
            ]
        }
        var labels: [JSONValue] = []
        var probabilities: [JSONValue] = []
        for prediction in predictions {
            guard case .label(let label, let values) = prediction.output else { continue }
            labels.append(.string(label))
            probabilities += values.map { .number($0) }
        }
        return [
            Output(name: "label", datatype: "BYTES", shape: [predictions.count], data: labels),
            Output(
                name: "probabilities", datatype: "FP64", shape: [predictions.count, classes.count],
                data: probabilities),
        ]
    }

    /// Checks one `inputs[i]` object: name, datatype, shape and a data count that matches it.
    static func tensor(_ value: JSONValue, index: Int) throws -> Tensor {
        let field = "inputs[\(index)]"
        var problems: [FieldProblem] = []
        let name = value["name"]?.stringValue
        if name?.isEmpty ?? true { problems.append(FieldProblem(field: "\(field).name", problem: "must be a string")) }
        let datatype = value["datatype"]?.stringValue ?? ""
        if !datatypes.contains(datatype) {
            problems.append(
                FieldProblem(
                    field: "\(field).datatype", problem: "must be one of \(datatypes.sorted().joined(separator: ", "))")
            )
        }
        let shape = value["shape"]?.arrayValue?.compactMap { $0.integerValue }.map { Int($0) }
        if shape == nil || shape!.isEmpty || shape!.count != value["shape"]?.arrayValue?.count
            || shape!.contains(where: { $0 < 0 })
        {
            problems.append(
                FieldProblem(field: "\(field).shape", problem: "must be an array of non-negative integers"))
        }
        var data: [JSONValue] = []
        if let raw = value["data"]?.arrayValue {
            flatten(raw, into: &data)
        } else {
            problems.append(FieldProblem(field: "\(field).data", problem: "must be an array"))
        }
        if let shape, problems.isEmpty, shape.reduce(1, *) != data.count {
            problems.append(
                FieldProblem(
                    field: "\(field).data",
                    problem: "holds \(data.count) values but shape \(shape) needs \(shape.reduce(1, *))"))
        }
        guard problems.isEmpty, let name, let shape else { throw APIError.validation(problems) }
        return Tensor(name: name, shape: shape, datatype: datatype, data: data)
    }

    private static func flatten(_ values: [JSONValue], into data: inout [JSONValue]) {
        for value in values {
            if case .array(let nested) = value { flatten(nested, into: &data) } else { data.append(value) }
        }
    }

    /// The instance count and a lookup of feature values by (row, feature name).
    static func instances(_ tensors: [Tensor], features: [FeatureSpec]) throws
        -> (Int, (Int, String) -> JSONValue?)
    {
        let names = Set(features.map(\.name))
        if tensors.count == 1, !names.contains(tensors[0].name) {
            let tensor = tensors[0]
            guard tensor.shape.count == 2, tensor.shape[1] == features.count else {
                throw APIError.validation([
                    FieldProblem(
                        field: "inputs[0].shape",
                        problem:
                            "a single tensor must have shape [N, \(features.count)] (columns: \(features.map(\.name).joined(separator: ", "))), or name each tensor after a feature"
                    )
                ])
            }
            let columns = Dictionary(uniqueKeysWithValues: features.enumerated().map { ($1.name, $0) })
            let width = features.count
            return (tensor.shape[0], { row, name in columns[name].map { tensor.data[row * width + $0] } })
        }
        var problems: [FieldProblem] = []
        var byName: [String: Tensor] = [:]
        for (index, tensor) in tensors.enumerated() {
            if !names.contains(tensor.name) {
                problems.append(
                    FieldProblem(field: "inputs[\(index)].name", problem: "\"\(tensor.name)\" is not a feature"))
            } else if byName[tensor.name] != nil {
                problems.append(
                    FieldProblem(field: "inputs[\(index)].name", problem: "\"\(tensor.name)\" appears twice"))
            } else if tensor.shape.count > 2 || (tensor.shape.count == 2 && tensor.shape[1] != 1) {
                problems.append(FieldProblem(field: "inputs[\(index)].shape", problem: "must be [N] or [N, 1]"))
            }
            byName[tensor.name] = tensor
        }
        for feature in features where byName[feature.name] == nil && (feature.missing ?? .reject) == .reject {
            problems.append(FieldProblem(field: "inputs", problem: "has no tensor for feature \"\(feature.name)\""))
        }
        let counts = Set(byName.values.map { $0.shape[0] })
        if counts.count > 1 {
            problems.append(FieldProblem(field: "inputs", problem: "tensors disagree on N: \(counts.sorted())"))
        }
        guard problems.isEmpty else { throw APIError.validation(problems) }
        return (counts.first ?? 0, { row, name in byName[name]?.data[row] })
    }
}
