import Foundation
import HTTPTypes
import Hummingbird
import JSON
import Learning
import ServiceKit

/// The Open Inference Protocol's tensors: checking request tensors (name,
/// datatype, a shape that matches the data), mapping them onto the model's
/// features, and the output tensors. Inputs are either one tensor per feature
/// (named after it, shape `[N]` or `[N, 1]`) or a single `[N, F]` tensor
/// whose columns are the features in the model's order; `data` may be flat or
/// nested row-major. Outputs: `prediction` `[N]`, or `label` `[N]` and
/// `probabilities` `[N, C]`.
enum InferenceTensors {
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

    /// One output tensor.
    struct Output: Encodable {
        let name: String
        let datatype: String
        let shape: [Int]
        let data: [JSONValue]
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

    /// Explanations as tensors: `contributions` `[N, F]` (a classifier: `[N, C, F]`) and
    /// `base_value` `[N]` (`[N, C]`), in the inputs' and classes' order.
    static func explanationOutputs(_ explanations: [Explanation], classes: [String]) -> [Output] {
        let outputs = explanations.first?.baseValues.count ?? 1
        let inputs = explanations.first?.contributions.first?.count ?? 0
        let perRow = classes.isEmpty ? [] : [outputs]
        return [
            Output(
                name: "contributions", datatype: "FP64", shape: [explanations.count] + perRow + [inputs],
                data: explanations.flatMap { $0.contributions.flatMap { $0.map { JSONValue.number($0) } } }),
            Output(
                name: "base_value", datatype: "FP64", shape: [explanations.count] + perRow,
                data: explanations.flatMap { $0.baseValues.map { JSONValue.number($0) } }),
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
        let shape = TensorShape.parse(value["shape"])
        if shape == nil {
            problems.append(
                FieldProblem(field: "\(field).shape", problem: "must be an array of non-negative integers"))
        }
        var data: [JSONValue] = []
        if let raw = value["data"]?.arrayValue {
            flatten(raw, into: &data)
        } else {
            problems.append(FieldProblem(field: "\(field).data", problem: "must be an array"))
        }
        if let shape, problems.isEmpty {
            if let needed = TensorShape.elementCount(shape) {
                if needed != data.count {
                    problems.append(
                        FieldProblem(
                            field: "\(field).data",
                            problem: "holds \(data.count) values but shape \(shape) needs \(needed)"
                        ))
                }
            } else {
                problems.append(FieldProblem(field: "\(field).shape", problem: "\(shape) holds too many elements"))
            }
        }
        if problems.isEmpty { problems = DatatypeRange.problems(data, datatype: datatype, field: field) }
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
