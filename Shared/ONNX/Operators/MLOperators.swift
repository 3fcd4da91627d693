import Foundation

/// The `ai.onnx.ml` operators other than trees: linear models and preprocessing.
enum MLOperators {
    static let ml = "ai.onnx.ml"
    static let numeric: Set<ONNXElementType> = [.float, .double, .int64, .int32]

    static var all: [Operator] {
        [
            linearRegressor, linearClassifier, scaler, normalizer, imputer, binarizer, oneHotEncoder, labelEncoder,
            categoryMapper, arrayFeatureExtractor, zipMap, featureVectorizer,
        ]
    }

    /// Rows and columns of an `[N, C]` (or `[C]`) input.
    static func matrix(_ x: ONNXTensor) -> (rows: Int, columns: Int) {
        x.shape.count <= 1 ? (1, x.shape.first ?? 1) : (x.shape[0], x.shape[1...].reduce(1, *))
    }

    /// `X · coefficientsᵀ + intercepts` for `targets` rows of coefficients.
    static func linear(_ x: ONNXTensor, coefficients: [Double], intercepts: [Double], targets: Int) throws -> [Double] {
        let (rows, columns) = matrix(x)
        guard coefficients.count == targets * columns else {
            throw ONNXError(
                "the model has \(coefficients.count / max(targets, 1)) coefficients per target, the input \(columns) columns"
            )
        }
        let values = x.doubles
        var out = [Double](repeating: 0, count: rows * targets)
        for r in 0..<rows {
            for t in 0..<targets {
                var sum = intercepts.isEmpty ? 0 : intercepts[t]
                for c in 0..<columns { sum += values[r * columns + c] * coefficients[t * columns + c] }
                out[r * targets + t] = sum
            }
        }
        return out
    }

    static var linearRegressor: Operator {
        Operator(
            "LinearRegressor", domain: ml, attributes: ["coefficients", "intercepts", "targets", "post_transform"]
        ) { spec in
            try spec.require(0, in: numeric)
            let targets = spec.int("targets", default: 1)
            let coefficients = (spec.floats("coefficients") ?? []).map(Double.init)
            let intercepts = (spec.floats("intercepts") ?? []).map(Double.init)
            let transform = try PostTransform(name: spec.string("post_transform"), label: spec.label)
            guard targets >= 1, intercepts.isEmpty || intercepts.count == targets else {
                throw spec.error("intercepts must have one value per target")
            }
            return CompiledNode(
                kernel: { inputs in
                    let x = try tensorInput(inputs, 0)
                    var values = try linear(x, coefficients: coefficients, intercepts: intercepts, targets: targets).map
                    { Float($0) }
                    if transform != .none {
                        values.withUnsafeMutableBufferPointer { all in
                            for start in stride(from: 0, to: all.count, by: targets) {
                                transform.apply(UnsafeMutableBufferPointer(rebasing: all[start..<(start + targets)]))
                            }
                        }
                    }
                    return [.tensor(ONNXTensor(floats: values, shape: [matrix(x).rows, targets]))]
                }, outputTypes: [.tensor(.float)])
        }
    }

    static var linearClassifier: Operator {
        Operator(
            "LinearClassifier", domain: ml,
            attributes: [
                "coefficients", "intercepts", "classlabels_ints", "classlabels_strings", "multi_class",
                "post_transform",
            ]
        ) { spec in
            try spec.require(0, in: numeric)
            let ints = spec.int64s("classlabels_ints").flatMap { $0.isEmpty ? nil : $0 }
            let strings = spec.strings("classlabels_strings").flatMap { $0.isEmpty ? nil : $0 }
            guard (ints == nil) != (strings == nil) else {
                throw spec.error("exactly one of classlabels_ints and classlabels_strings is required")
            }
            let coefficients = (spec.floats("coefficients") ?? []).map(Double.init)
            let intercepts = (spec.floats("intercepts") ?? []).map(Double.init)
            let classCount = intercepts.count
            let labelCount = ints?.count ?? strings!.count
            guard classCount >= 1 else { throw spec.error("intercepts are required") }
            guard classCount == labelCount || (classCount == 1 && labelCount == 2) else {
                throw spec.error("\(classCount) intercepts for \(labelCount) class labels")
            }
            let transform = try PostTransform(name: spec.string("post_transform"), label: spec.label)
            let labelType: ONNXElementType = ints != nil ? .int64 : .string
            return CompiledNode(
                kernel: { inputs in
                    let x = try tensorInput(inputs, 0)
                    let rows = matrix(x).rows
                    let raw = try linear(x, coefficients: coefficients, intercepts: intercepts, targets: classCount)
                    var picked: [Int] = []
                    var out: [Float] = []
                    for r in 0..<rows {
                        var row = raw[(r * classCount)..<((r + 1) * classCount)].map { Float($0) }
                        if classCount == 1 {
                            let s = row[0]
                            picked.append(s > 0 ? 1 : 0)
                            switch transform {
                            case .logistic:
                                let p = PostTransform.logistic(s)
                                row = [1 - p, p]
                            case .probit:
                                let p = PostTransform.probit(s)
                                row = [1 - p, p]
                            default: row = [-s, s]
                            }
                        } else {
                            var best = 0
                            for k in row.indices where row[k] > row[best] { best = k }
                            picked.append(best)
                            row.withUnsafeMutableBufferPointer { transform.apply($0) }
                        }
                        out += row
                    }
                    let labels =
                        ints.map { ints in ONNXTensor(int64s: picked.map { ints[$0] }, shape: [rows]) }
                        ?? ONNXTensor(strings: picked.map { strings![$0] }, shape: [rows])
                    return [.tensor(labels), .tensor(ONNXTensor(floats: out, shape: [rows, max(classCount, 2)]))]
                }, outputTypes: [.tensor(labelType), .tensor(.float)])
        }
    }

    /// Per-column parameters of length 1 or the column count.
    static func perColumn(_ values: [Float], _ column: Int, default value: Float) -> Float {
        values.isEmpty ? value : values.count == 1 ? values[0] : values[column % values.count]
    }

    static var scaler: Operator {
        Operator("Scaler", domain: ml, attributes: ["offset", "scale"]) { spec in
            try spec.require(0, in: numeric)
            let offset = spec.floats("offset") ?? []
            let scale = spec.floats("scale") ?? []
            return CompiledNode(
                kernel: { inputs in
                    let x = try tensorInput(inputs, 0)
                    let columns = x.shape.last ?? 1
                    for list in [offset, scale] where list.count > 1 && list.count != columns {
                        throw ONNXError("\(list.count) offsets or scales for \(columns) columns")
                    }
                    let values = x.doubles
                    var out = [Float](repeating: 0, count: values.count)
                    for i in values.indices {
                        let c = i % max(columns, 1)
                        out[i] = (Float(values[i]) - perColumn(offset, c, default: 0)) * perColumn(scale, c, default: 1)
                    }
                    return [.tensor(ONNXTensor(floats: out, shape: x.shape))]
                }, outputTypes: [.tensor(.float, shape: spec.inputShape(0))])
        }
    }

    static var normalizer: Operator {
        Operator("Normalizer", domain: ml, attributes: ["norm"]) { spec in
            try spec.require(0, in: numeric)
            let norm = spec.string("norm") ?? "MAX"
            guard ["MAX", "L1", "L2"].contains(norm) else { throw spec.error("norm must be MAX, L1 or L2") }
            return CompiledNode(
                kernel: { inputs in
                    let x = try tensorInput(inputs, 0)
                    let (rows, columns) = matrix(x)
                    var out = x.doubles.map { Float($0) }
                    for r in 0..<rows {
                        let row = (r * columns)..<((r + 1) * columns)
                        let divisor: Float
                        switch norm {
                        case "MAX": divisor = out[row].max() ?? 1
                        case "L1": divisor = out[row].reduce(0) { $0 + Swift.abs($1) }
                        default: divisor = out[row].reduce(0) { $0 + $1 * $1 }.squareRoot()
                        }
                        if divisor != 0 { for i in row { out[i] /= divisor } }
                    }
                    return [.tensor(ONNXTensor(floats: out, shape: x.shape))]
                }, outputTypes: [.tensor(.float, shape: spec.inputShape(0))])
        }
    }

    static var imputer: Operator {
        Operator(
            "Imputer", domain: ml,
            attributes: [
                "imputed_value_floats", "imputed_value_int64s", "replaced_value_float", "replaced_value_int64",
            ]
        ) { spec in
            let type = try spec.require(0, in: [.float, .double, .int64, .int32])
            let floats = spec.floats("imputed_value_floats") ?? []
            let ints = spec.int64s("imputed_value_int64s") ?? []
            let replacedFloat = spec.float("replaced_value_float") ?? .nan
            let replacedInt = spec.attributes["replaced_value_int64"]?.i ?? 0
            return CompiledNode(
                kernel: { inputs in
                    let x = try tensorInput(inputs, 0)
                    let columns = x.shape.last ?? 1
                    switch x.storage {
                    case .float(let v):
                        guard floats.count == 1 || floats.count == columns else {
                            throw ONNXError("\(floats.count) imputed values for \(columns) columns")
                        }
                        let out = v.indices.map { i -> Float in
                            let value = v[i]
                            let replace = replacedFloat.isNaN ? value.isNaN : value == replacedFloat
                            return replace ? perColumn(floats, i % columns, default: 0) : value
                        }
                        return [.tensor(ONNXTensor(floats: out, shape: x.shape))]
                    case .double(let v):
                        guard floats.count == 1 || floats.count == columns else {
                            throw ONNXError("\(floats.count) imputed values for \(columns) columns")
                        }
                        let out = v.indices.map { i -> Double in
                            let value = v[i]
                            let replace = replacedFloat.isNaN ? value.isNaN : value == Double(replacedFloat)
                            return replace ? Double(perColumn(floats, i % columns, default: 0)) : value
                        }
                        return [.tensor(ONNXTensor(doubles: out, shape: x.shape))]
                    default:
                        let v = x.int64s ?? []
                        guard ints.count == 1 || ints.count == columns else {
                            throw ONNXError("\(ints.count) imputed values for \(columns) columns")
                        }
                        let out = v.indices.map {
                            v[$0] == replacedInt ? (ints.count == 1 ? ints[0] : ints[$0 % columns]) : v[$0]
                        }
                        return [.tensor(ONNXTensor(int64s: out, shape: x.shape))]
                    }
                }, outputTypes: [.tensor(type == .int32 ? .int64 : type, shape: spec.inputShape(0))])
        }
    }

    static var binarizer: Operator {
        Operator("Binarizer", domain: ml, attributes: ["threshold"]) { spec in
            let type = try spec.require(0, in: numeric)
            let threshold = Double(spec.float("threshold") ?? 0)
            return CompiledNode(
                kernel: { inputs in
                    let x = try tensorInput(inputs, 0)
                    let out = x.doubles.map { $0 > threshold ? 1.0 : 0.0 }
                    return [.tensor(MathOperators.make(out, shape: x.shape, like: x.elementType))]
                }, outputTypes: [.tensor(type, shape: spec.inputShape(0))])
        }
    }

    static var oneHotEncoder: Operator {
        Operator("OneHotEncoder", domain: ml, attributes: ["cats_int64s", "cats_strings", "zeros"]) { spec in
            let type = try spec.require(0, in: [.string, .int64, .int32, .float, .double])
            let strings = spec.strings("cats_strings").flatMap { $0.isEmpty ? nil : $0 }
            let ints = spec.int64s("cats_int64s").flatMap { $0.isEmpty ? nil : $0 }
            guard (strings == nil) != (ints == nil) else {
                throw spec.error("exactly one of cats_int64s and cats_strings is required")
            }
            guard (type == .string) == (strings != nil) else {
                throw spec.error("input 1 is \(type) but the categories are not")
            }
            let zeros = spec.int("zeros", default: 1) != 0
            let stringIndex = Dictionary((strings ?? []).enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
            let intIndex = Dictionary((ints ?? []).enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
            let width = strings?.count ?? ints!.count
            return CompiledNode(
                kernel: { inputs in
                    let x = try tensorInput(inputs, 0)
                    var out = [Float](repeating: 0, count: x.count * width)
                    let positions: [Int?]
                    if case .string(let values) = x.storage {
                        positions = values.map { stringIndex[$0] }
                    } else {
                        positions = x.doubles.map { value in
                            guard value.isFinite, let integer = Int64(exactly: value.rounded(.towardZero)) else {
                                return nil
                            }
                            return intIndex[integer]
                        }
                    }
                    for (i, position) in positions.enumerated() {
                        if let position {
                            out[i * width + position] = 1
                        } else if !zeros {
                            throw ONNXError("OneHotEncoder: a value is not one of the categories")
                        }
                    }
                    return [.tensor(ONNXTensor(floats: out, shape: x.shape + [width]))]
                }, outputTypes: [.tensor(.float)])
        }
    }

    static var labelEncoder: Operator {
        Operator(
            "LabelEncoder", domain: ml,
            attributes: [
                "classes_strings", "default_int64", "default_string", "default_float", "keys_int64s", "keys_strings",
                "keys_floats", "values_int64s", "values_strings", "values_floats", "keys_tensor", "values_tensor",
                "default_tensor",
            ]
        ) { spec in
            let type = try spec.require(0, in: [.string, .int64, .float, .double])
            let keys: ONNXTensor.Storage
            let values: ONNXTensor.Storage
            if spec.opset < 2, let classes = spec.strings("classes_strings") {
                // Opset 1: strings map to their index, or int64 back to the string.
                if type == .string {
                    keys = .string(classes)
                    values = .int64(classes.indices.map(Int64.init))
                } else {
                    keys = .int64(classes.indices.map(Int64.init))
                    values = .string(classes)
                }
            } else {
                // Keys and values each come as a tensor (opset 4) or a typed list.
                if let k = try spec.tensor("keys_tensor") {
                    keys = k.storage
                } else if let k = spec.strings("keys_strings"), !k.isEmpty {
                    keys = .string(k)
                } else if let k = spec.int64s("keys_int64s"), !k.isEmpty {
                    keys = .int64(k)
                } else if let k = spec.floats("keys_floats"), !k.isEmpty {
                    keys = .float(k)
                } else {
                    throw spec.error("keys are required")
                }
                if let v = try spec.tensor("values_tensor") {
                    values = v.storage
                } else if let v = spec.strings("values_strings"), !v.isEmpty {
                    values = .string(v)
                } else if let v = spec.int64s("values_int64s"), !v.isEmpty {
                    values = .int64(v)
                } else if let v = spec.floats("values_floats"), !v.isEmpty {
                    values = .float(v)
                } else {
                    throw spec.error("values are required")
                }
            }
            let keyTensor = ONNXTensor(shape: [], storage: keys)
            let valueTensor = ONNXTensor(shape: [], storage: values)
            guard keyTensor.count == valueTensor.count else { throw spec.error("keys and values differ in length") }
            let defaultTensor = try spec.tensor("default_tensor")
            let outType = valueTensor.elementType
            let mapping: [String: Int] = {
                var map: [String: Int] = [:]
                let texts = LabelKey.texts(keys)
                for (i, key) in texts.enumerated() where map[key] == nil { map[key] = i }
                return map
            }()
            let defaultString =
                defaultTensor.flatMap { if case .string(let s) = $0.storage { s.first } else { nil } }
                ?? spec.string("default_string") ?? "_Unused"
            let defaultInt = defaultTensor.flatMap { $0.int64s?.first } ?? spec.attributes["default_int64"]?.i ?? -1
            let defaultFloat =
                defaultTensor.flatMap { if case .float(let f) = $0.storage { f.first } else { nil } }
                ?? spec.float("default_float") ?? -0.0
            return CompiledNode(
                kernel: { inputs in
                    let x = try tensorInput(inputs, 0)
                    let found = LabelKey.texts(x.storage).map { mapping[$0] }
                    let storage: ONNXTensor.Storage
                    switch values {
                    case .string(let v): storage = .string(found.map { $0.map { v[$0] } ?? defaultString })
                    case .int64(let v): storage = .int64(found.map { $0.map { v[$0] } ?? defaultInt })
                    case .float(let v): storage = .float(found.map { $0.map { v[$0] } ?? defaultFloat })
                    case .double(let v): storage = .double(found.map { $0.map { v[$0] } ?? Double(defaultFloat) })
                    default: throw ONNXError("LabelEncoder: unsupported value type")
                    }
                    return [.tensor(ONNXTensor(shape: x.shape, storage: storage))]
                }, outputTypes: [.tensor(outType, shape: spec.inputShape(0))])
        }
    }

    static var categoryMapper: Operator {
        Operator(
            "CategoryMapper", domain: ml,
            attributes: ["cats_int64s", "cats_strings", "default_int64", "default_string"]
        ) {
            spec in
            let type = try spec.require(0, in: [.string, .int64])
            let ints = spec.int64s("cats_int64s") ?? []
            let strings = spec.strings("cats_strings") ?? []
            guard ints.count == strings.count else { throw spec.error("cats_int64s and cats_strings differ in length") }
            let toInt = Dictionary(zip(strings, ints), uniquingKeysWith: { a, _ in a })
            let toString = Dictionary(zip(ints, strings), uniquingKeysWith: { a, _ in a })
            let defaultInt = spec.attributes["default_int64"]?.i ?? -1
            let defaultString = spec.string("default_string") ?? "_Unused"
            return CompiledNode(
                kernel: { inputs in
                    let x = try tensorInput(inputs, 0)
                    switch x.storage {
                    case .string(let v):
                        return [.tensor(ONNXTensor(int64s: v.map { toInt[$0] ?? defaultInt }, shape: x.shape))]
                    case .int64(let v):
                        return [.tensor(ONNXTensor(strings: v.map { toString[$0] ?? defaultString }, shape: x.shape))]
                    default: throw ONNXError("CategoryMapper takes strings or int64")
                    }
                }, outputTypes: [.tensor(type == .string ? .int64 : .string, shape: spec.inputShape(0))])
        }
    }

    static var arrayFeatureExtractor: Operator {
        Operator("ArrayFeatureExtractor", domain: ml) { spec in
            let type = try spec.inputType(0)
            try spec.require(1, in: [.int64, .int32])
            return CompiledNode(
                kernel: { inputs in
                    let x = try tensorInput(inputs, 0)
                    let indices = try tensorInput(inputs, 1).int64s ?? []
                    let columns = x.shape.last ?? 1
                    let rows = x.count / max(columns, 1)
                    var positions: [Int] = []
                    for r in 0..<rows {
                        for index in indices {
                            guard index >= 0, index < columns else {
                                throw ONNXError(
                                    "ArrayFeatureExtractor: index \(index) is out of range (\(columns) columns)")
                            }
                            positions.append(r * columns + Int(index))
                        }
                    }
                    let shape = x.shape.count <= 1 ? [indices.count] : Array(x.shape.dropLast()) + [indices.count]
                    return [.tensor(ONNXTensor(shape: shape, storage: x.storage.picking(positions)))]
                }, outputTypes: [.tensor(type)])
        }
    }

    static var zipMap: Operator {
        Operator("ZipMap", domain: ml, attributes: ["classlabels_int64s", "classlabels_strings"]) { spec in
            try spec.require(0, in: [.float])
            let labels = try ClassLabels(spec)
            let storage: ONNXTensor.Storage = labels.ints.map { .int64($0) } ?? .string(labels.strings!)
            return CompiledNode(
                kernel: { inputs in
                    let x = try tensorInput(inputs, 0)
                    guard case .float(let values) = x.storage else { throw ONNXError("ZipMap takes floats") }
                    let (rows, columns) = matrix(x)
                    guard columns == labels.count else {
                        throw ONNXError("ZipMap: \(columns) columns for \(labels.count) labels")
                    }
                    let maps = (0..<rows).map { Array(values[($0 * columns)..<(($0 + 1) * columns)]) }
                    return [.maps(labels: storage, probabilities: maps)]
                }, outputTypes: [.maps])
        }
    }

    static var featureVectorizer: Operator {
        Operator("FeatureVectorizer", domain: ml, attributes: ["inputdimensions"]) { spec in
            for index in spec.inputTypes.indices { try spec.require(index, in: numeric) }
            let dimensions = spec.ints("inputdimensions") ?? []
            guard dimensions.count == spec.inputTypes.count else {
                throw spec.error("inputdimensions has \(dimensions.count) entries for \(spec.inputTypes.count) inputs")
            }
            let width = dimensions.reduce(0, +)
            return CompiledNode(
                kernel: { inputs in
                    let tensors = try inputs.indices.map { try tensorInput(inputs, $0) }
                    let rows = tensors.first.map { matrix($0).rows } ?? 0
                    var out = [Float](repeating: 0, count: rows * width)
                    var offset = 0
                    for (tensor, dimension) in zip(tensors, dimensions) {
                        let (tensorRows, columns) = matrix(tensor)
                        guard tensorRows == rows else { throw ONNXError("FeatureVectorizer: inputs differ in rows") }
                        let values = tensor.doubles
                        for r in 0..<rows {
                            for c in 0..<min(columns, dimension) {
                                out[r * width + offset + c] = Float(values[r * columns + c])
                            }
                        }
                        offset += dimension
                    }
                    return [.tensor(ONNXTensor(floats: out, shape: [rows, width]))]
                }, outputTypes: [.tensor(.float)])
        }
    }
}
