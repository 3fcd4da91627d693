import Foundation
import ONNX

/// A repository's own ONNX model bound to the manifest's features: rows
/// encoded by `FeatureEncoder` become the graph's inputs, and its outputs a
/// value or Conveyor's class probabilities. Binding happens at training time,
/// so a model whose inputs or outputs do not fit the manifest fails the run,
/// naming the input, and never reaches serving.
public struct ONNXPredictor: Sendable, Equatable {
    /// How the graph takes the features.
    enum Inputs: Sendable {
        /// One `[N, F]` numeric input; the features in manifest order.
        case matrix(name: String, type: ONNXElementType)
        /// One `[N, 1]` input per feature, by name (skl2onnx's `ColumnTransformer` style).
        case columns([(name: String, feature: Int, type: ONNXElementType)])
    }

    /// Where the prediction is among the outputs.
    enum Outputs: Sendable {
        case value(index: Int)
        /// Probabilities: the output, and for each of Conveyor's classes its column there.
        case probabilities(index: Int, columns: [Int])
    }

    /// The `.onnx` file as committed.
    public let data: Data
    public let model: ONNXModel
    let inputs: Inputs
    let outputs: Outputs
    let features: [FeatureSpec]
    let offsets: [Int]
    /// Per tree node of the graph's ensemble (in its attributes' order), the training rows
    /// through it: what explanations need and the file lacks. Nil when the graph is not an
    /// explainable tree ensemble, or the version was trained before explanations of ONNX.
    public internal(set) var covers: [Double]?
    /// Why the run recorded no covers (the graph is not one Conveyor explains), for `explain`'s 422.
    public internal(set) var explanationUnavailable: String?

    /// Loads and binds `data`; `classes` are Conveyor's (sorted) class names for classification.
    public init(data: Data, features: [FeatureSpec], classes: [String]?) throws {
        self.data = data
        model = try ONNXModel(serialized: data)
        self.features = features
        var offset = 0
        offsets = features.map { feature in
            defer { offset += feature.width }
            return offset
        }
        inputs = try Self.bindInputs(model, features: features)
        outputs = try Self.bindOutputs(model, classes: classes)
    }

    static func bindInputs(_ model: ONNXModel, features: [FeatureSpec]) throws -> Inputs {
        if model.inputs.count == 1, let only = model.inputs.first,
            !features.contains(where: { $0.name == only.name })
                || features.count == 1 && only.shape?.last == 1
        {
            guard let type = only.elementType, [.float, .double, .int64].contains(type) else {
                throw DataProblem(
                    problem: "model input \"\(only.name)\": a single input must be float, double or int64")
            }
            if let width = only.shape?.last ?? nil, width != features.count {
                throw DataProblem(
                    problem:
                        "model input \"\(only.name)\" has \(width) columns but conveyor.yaml lists \(features.count) features"
                )
            }
            if let index = features.firstIndex(where: { $0.type == .categorical }) {
                throw DataProblem(
                    problem:
                        "features[\(index)] (\(features[index].name)) is categorical but the model's single input \"\(only.name)\" takes numbers; export one input per column (string inputs for categories)"
                )
            }
            return .matrix(name: only.name, type: type)
        }
        var bound: [(name: String, feature: Int, type: ONNXElementType)] = []
        for input in model.inputs {
            guard let feature = features.firstIndex(where: { $0.name == input.name }) else {
                throw DataProblem(
                    problem:
                        "model input \"\(input.name)\" is not a feature in conveyor.yaml (features: \(features.map(\.name).joined(separator: ", ")))"
                )
            }
            guard let type = input.elementType else {
                throw DataProblem(problem: "model input \"\(input.name)\" must be a tensor")
            }
            if let shape = input.shape, shape.count != 2 || (shape[1] != nil && shape[1] != 1) {
                throw DataProblem(problem: "model input \"\(input.name)\" must have shape [N, 1] for one column")
            }
            let kind = features[feature].type
            if kind == .categorical && type != .string {
                throw DataProblem(
                    problem: "model input \"\(input.name)\" is \(type) but the feature is categorical (needs string)")
            }
            if kind != .categorical && ![.float, .double, .int64].contains(type) {
                throw DataProblem(
                    problem:
                        "model input \"\(input.name)\" is \(type) but the feature is \(kind.rawValue) (needs a number)")
            }
            bound.append((input.name, feature, type))
        }
        return .columns(bound)
    }

    static func bindOutputs(_ model: ONNXModel, classes: [String]?) throws -> Outputs {
        guard let classes else {
            guard let index = model.outputs.firstIndex(where: { $0.elementType == .float || $0.elementType == .double })
            else {
                throw DataProblem(problem: "the model has no float or double output to read a regression value from")
            }
            return .value(index: index)
        }
        // Labels come from ZipMap's maps, or from the label output's classifier node for a probability tensor.
        guard model.outputs.count >= 2 else {
            throw DataProblem(
                problem: "a classifier must output a label and probabilities (it has \(model.outputs.count) output)")
        }
        guard model.outputs.contains(where: { $0.elementType == .int64 || $0.elementType == .string }),
            let probabilityIndex = model.outputs.firstIndex(where: { $0.elementType == nil || $0.elementType == .float }
            )
        else { throw DataProblem(problem: "a classifier must output labels (int64 or string) and float probabilities") }
        let labels: [String]
        do {
            labels = try model.classLabels()
        } catch let error as ONNXError {
            throw DataProblem(problem: error.message)
        }
        guard labels.count == classes.count else {
            throw DataProblem(
                problem:
                    "the model has \(labels.count) classes (\(labels.joined(separator: ", "))); the training data has \(classes.count) (\(classes.joined(separator: ", ")))"
            )
        }
        let columns = try classes.map { name in
            guard let column = labels.firstIndex(of: name) else {
                throw DataProblem(
                    problem:
                        "class \"\(name)\" of the training data is not one of the model's labels (\(labels.joined(separator: ", ")))"
                )
            }
            return column
        }
        return .probabilities(index: probabilityIndex, columns: columns)
    }

    /// Two predictors are equal when they hold the same file for the same features.
    public static func == (lhs: ONNXPredictor, rhs: ONNXPredictor) -> Bool {
        lhs.data == rhs.data && lhs.features == rhs.features && lhs.outputCount == rhs.outputCount
            && lhs.covers == rhs.covers
    }

    /// Number of values `predict` writes.
    public var outputCount: Int {
        if case .probabilities(_, let columns) = outputs { return columns.count }
        return 1
    }

    /// Predicts rows encoded by `FeatureEncoder` (one-hot categories become the category's string again).
    public func predict(rows: [[Double]]) throws -> [[Double]] {
        let count = rows.count
        let values = try model.evaluate(try feeds(rows))
        switch outputs {
        case .value(let index):
            guard let tensor = values[index].tensor else { throw ONNXError("the value output is not a tensor") }
            let flat = tensor.doubles
            guard flat.count >= count else {
                throw ONNXError("the model returned \(flat.count) values for \(count) rows")
            }
            let stride = flat.count / max(count, 1)
            return (0..<count).map { [flat[$0 * stride]] }
        case .probabilities(let index, let columns):
            switch values[index] {
            case .maps(_, let probabilities):
                return probabilities.map { row in columns.map { Double(row[$0]) } }
            case .tensor(let tensor):
                let flat = tensor.doubles
                let width = flat.count / max(count, 1)
                return (0..<count).map { r in columns.map { flat[r * width + $0] } }
            }
        }
    }

    /// The graph's input tensors for rows encoded by `FeatureEncoder`.
    func feeds(_ rows: [[Double]]) throws -> [String: ONNXTensor] {
        let count = rows.count
        var feeds: [String: ONNXTensor] = [:]
        switch inputs {
        case .matrix(let name, let type):
            let values = rows.flatMap { row in offsets.map { row[$0] } }
            feeds[name] = Self.tensor(values, type: type, shape: [count, features.count])
        case .columns(let bound):
            for (name, feature, type) in bound {
                let spec = features[feature]
                let offset = offsets[feature]
                if spec.type == .categorical {
                    let categories = spec.categories ?? []
                    let strings = rows.map { row in
                        (0..<spec.width).first { row[offset + $0] == 1 }.map { categories[$0] } ?? ""
                    }
                    feeds[name] = ONNXTensor(strings: strings, shape: [count, 1])
                } else {
                    feeds[name] = Self.tensor(rows.map { $0[offset] }, type: type, shape: [count, 1])
                }
            }
        }
        return feeds
    }

    /// Predicts one encoded row into `output`.
    public func predict(_ row: UnsafeBufferPointer<Double>, into output: UnsafeMutableBufferPointer<Double>) {
        guard let result = try? predict(rows: [Array(row)]).first else {
            for index in output.indices { output[index] = .nan }
            return
        }
        for (index, value) in result.enumerated() where index < output.count { output[index] = value }
    }

    static func tensor(_ values: [Double], type: ONNXElementType, shape: [Int]) -> ONNXTensor {
        switch type {
        case .double: ONNXTensor(doubles: values, shape: shape)
        case .int64: ONNXTensor(int64s: values.map { $0.isFinite ? Int64($0) : 0 }, shape: shape)
        default: ONNXTensor(floats: values.map { Float($0) }, shape: shape)
        }
    }
}
