import Foundation

/// `ai.onnx.ml` TreeEnsembleRegressor, TreeEnsembleClassifier (opsets 1 and 3) and TreeEnsemble (opset 5).
enum TreeOperators {
    static let ml = "ai.onnx.ml"
    static let inputs: Set<ONNXElementType> = [.float, .double, .int64, .int32]
    static let common: Set<String> = [
        "nodes_treeids", "nodes_nodeids", "nodes_featureids", "nodes_modes", "nodes_values", "nodes_values_as_tensor",
        "nodes_truenodeids", "nodes_falsenodeids", "nodes_missing_value_tracks_true", "nodes_hitrates",
        "nodes_hitrates_as_tensor", "post_transform", "base_values", "base_values_as_tensor",
    ]

    static var all: [Operator] { [regressor, classifier, ensemble] }

    static func attributes(_ spec: NodeSpec, weightPrefix: String, targetKey: String) throws -> TreeAttributes {
        TreeAttributes(
            treeIDs: spec.int64s("nodes_treeids") ?? [], nodeIDs: spec.int64s("nodes_nodeids") ?? [],
            featureIDs: spec.int64s("nodes_featureids") ?? [], modes: spec.strings("nodes_modes") ?? [],
            values: try spec.reals("nodes_values") ?? [], trueIDs: spec.int64s("nodes_truenodeids") ?? [],
            falseIDs: spec.int64s("nodes_falsenodeids") ?? [],
            missingTrue: spec.int64s("nodes_missing_value_tracks_true") ?? [],
            weightTreeIDs: spec.int64s("\(weightPrefix)_treeids") ?? [],
            weightNodeIDs: spec.int64s("\(weightPrefix)_nodeids") ?? [],
            weightTargets: spec.int64s("\(weightPrefix)_\(targetKey)") ?? [],
            weights: try spec.reals("\(weightPrefix)_weights") ?? [])
    }

    static func aggregate<T>(_ name: String?, label: String) throws -> CompiledTrees<T>.Aggregate {
        switch name ?? "SUM" {
        case "SUM": .sum
        case "AVERAGE": .average
        case "MIN": .min
        case "MAX": .max
        default: throw ONNXError("\(label): aggregate_function \"\(name ?? "")\" is not one of SUM, AVERAGE, MIN, MAX")
        }
    }

    /// Raw scores of every row of `x` (`rows × targets`, before base values and transforms).
    static func allScores<T: BinaryFloatingPoint & ElementaryFunctionsLike & Sendable>(
        _ x: ONNXTensor, _ trees: CompiledTrees<T>
    ) throws -> (rows: Int, scores: [T], has: [Bool]) {
        let rows = x.shape.count <= 1 ? 1 : x.shape[0]
        let columns = x.shape.count <= 1 ? (x.shape.first ?? 1) : x.shape[1...].reduce(1, *)
        guard trees.largestFeature < columns else {
            throw ONNXError("the trees read feature \(trees.largestFeature) but the input has \(columns) columns")
        }
        let values = x.doubles
        var scores = [T](repeating: 0, count: rows * trees.targets)
        var has = [Bool](repeating: false, count: rows * trees.targets)
        values.withUnsafeBufferPointer { values in
            scores.withUnsafeMutableBufferPointer { scores in
                has.withUnsafeMutableBufferPointer { has in
                    trees.scores(rows: values, count: rows, columns: columns, into: scores, hasScore: has)
                }
            }
        }
        return (rows, scores, has)
    }

    /// Calls `body` with each row's slice of `scores` and `has` (`width` per row).
    static func forEachRow<T>(
        _ scores: inout [T], _ has: inout [Bool], width: Int,
        _ body: (Int, UnsafeMutableBufferPointer<T>, UnsafeMutableBufferPointer<Bool>) -> Void
    ) {
        scores.withUnsafeMutableBufferPointer { scores in
            has.withUnsafeMutableBufferPointer { has in
                for row in 0..<(scores.count / max(width, 1)) {
                    let range = (row * width)..<((row + 1) * width)
                    body(
                        row, UnsafeMutableBufferPointer(rebasing: scores[range]),
                        UnsafeMutableBufferPointer(rebasing: has[range]))
                }
            }
        }
    }

    static var regressor: Operator {
        Operator(
            "TreeEnsembleRegressor", domain: ml,
            attributes: common.union([
                "n_targets", "target_treeids", "target_nodeids", "target_ids", "target_weights",
                "target_weights_as_tensor",
                "aggregate_function",
            ])
        ) { spec in
            let type = try spec.require(0, in: inputs)
            let targets = spec.int("n_targets", default: 1)
            guard targets >= 1 else { throw spec.error("n_targets must be at least 1") }
            let transform = try PostTransform(name: spec.string("post_transform"), label: spec.label)
            let base = try spec.reals("base_values") ?? []
            let attributes = try attributes(spec, weightPrefix: "target", targetKey: "ids")
            func build<T: BinaryFloatingPoint & ElementaryFunctionsLike & Sendable>(_: T.Type) throws -> Kernel {
                let trees: CompiledTrees<T> = try attributes.compile(
                    targets: targets, aggregate: try aggregate(spec.string("aggregate_function"), label: spec.label),
                    label: spec.label)
                let tbase = base.map { T($0) }
                return { inputs in
                    var (rows, scores, has) = try allScores(try tensorInput(inputs, 0), trees)
                    forEachRow(&scores, &has, width: targets) { _, scores, has in
                        finishRegression(scores, has, base: tbase, aggregate: trees.aggregate, transform: transform)
                    }
                    return [.tensor(ONNXTensor(floats: scores.map { Float($0) }, shape: [rows, targets]))]
                }
            }
            let kernel = type == .float ? try build(Float.self) : try build(Double.self)
            return CompiledNode(
                kernel: kernel, outputTypes: [.tensor(.float, shape: [spec.inputShape(0)?.first ?? nil, targets])])
        }
    }

    /// onnxruntime's finishing of regression scores: base values, then the transform.
    static func finishRegression<T: BinaryFloatingPoint & ElementaryFunctionsLike>(
        _ scores: UnsafeMutableBufferPointer<T>, _ has: UnsafeMutableBufferPointer<Bool>, base: [T],
        aggregate: CompiledTrees<T>.Aggregate, transform: PostTransform
    ) {
        if scores.count == 1 {
            let origin = base.count == 1 ? base[0] : 0
            scores[0] = (has[0] ? scores[0] : 0) + origin
            if transform == .probit { scores[0] = PostTransform.probit(scores[0]) }
            return
        }
        let useBase = base.count == scores.count
        for t in scores.indices {
            switch aggregate {
            case .sum, .average: if useBase { scores[t] += base[t] }
            case .min, .max: scores[t] = (useBase ? base[t] : 0) + (has[t] ? scores[t] : 0)
            }
        }
        transform.apply(scores)
    }

    static var classifier: Operator {
        Operator(
            "TreeEnsembleClassifier", domain: ml,
            attributes: common.union([
                "class_treeids", "class_nodeids", "class_ids", "class_weights", "class_weights_as_tensor",
                "classlabels_int64s", "classlabels_strings",
            ])
        ) { spec in
            let type = try spec.require(0, in: inputs)
            let labels = try ClassLabels(spec)
            let classes = labels.count
            let transform = try PostTransform(name: spec.string("post_transform"), label: spec.label)
            let base = try spec.reals("base_values") ?? []
            let attributes = try attributes(spec, weightPrefix: "class", targetKey: "ids")
            let classIDs = Set(attributes.weightTargets)
            let binaryCase = classes == 2 && classIDs.count == 1
            let allPositive = attributes.weights.allSatisfy { $0 >= 0 }
            func build<T: BinaryFloatingPoint & ElementaryFunctionsLike & Sendable>(_: T.Type) throws -> Kernel {
                let trees: CompiledTrees<T> = try attributes.compile(
                    targets: classes, aggregate: .sum, label: spec.label)
                let tbase = base.map { T($0) }
                return { inputs in
                    var (rows, scores, has) = try allScores(try tensorInput(inputs, 0), trees)
                    var out: [Float] = []
                    out.reserveCapacity(rows * classes)
                    var picked: [Int] = []
                    picked.reserveCapacity(rows)
                    forEachRow(&scores, &has, width: classes) { _, scores, has in
                        let (label, row) = finishClassification(
                            scores, has, base: tbase, binaryCase: binaryCase, allPositive: allPositive,
                            transform: transform)
                        picked.append(label)
                        for value in row { out.append(Float(value)) }
                    }
                    return [.tensor(labels.tensor(picked)), .tensor(ONNXTensor(floats: out, shape: [rows, classes]))]
                }
            }
            let kernel = type == .float ? try build(Float.self) : try build(Double.self)
            let rows = spec.inputShape(0)?.first ?? nil
            return CompiledNode(
                kernel: kernel,
                outputTypes: [.tensor(labels.elementType, shape: [rows]), .tensor(.float, shape: [rows, classes])])
        }
    }

    /// onnxruntime's finishing of classifier scores (TreeAggregatorClassifier): the
    /// chosen class index and the row of class scores.
    static func finishClassification<T: BinaryFloatingPoint & ElementaryFunctionsLike>(
        _ scores: UnsafeMutableBufferPointer<T>, _ has: UnsafeMutableBufferPointer<Bool>, base: [T], binaryCase: Bool,
        allPositive: Bool, transform: PostTransform
    ) -> (Int, [T]) {
        let classes = scores.count
        if classes > 2 {
            for k in 0..<min(base.count, classes) {
                scores[k] = has[k] ? scores[k] + base[k] : base[k]
                has[k] = true
            }
            var best = -1
            for k in 0..<classes where has[k] && (best == -1 || scores[k] > scores[best]) { best = k }
            transform.apply(scores)
            return (max(best, 0), Array(scores))
        }
        var row = Array(scores)
        var single = false
        var additional = -1
        if base.count == 2 {
            if has[1] {
                row[1] = base[1] + row[0]
                row[0] = -row[1]
            } else {
                row[1] += base[1]
                row[0] += base[0]
            }
        } else if base.count == 1 {
            row[0] += base[0]
            if !has[1] { single = true }
        } else if base.isEmpty {
            additional = 3
            if !has[1] { single = true }
        }
        let positive = (!single && has[1]) ? row[1] : row[0]
        let label: Int
        if binaryCase {
            if allPositive {
                (label, additional) = positive > 0.5 ? (1, 0) : (0, 1)
            } else {
                (label, additional) = positive > 0 ? (1, 2) : (0, 3)
            }
        } else {
            label = positive > 0 ? 1 : 0
        }
        if single {
            var value = row[0]
            if transform == .probit {
                return (label, [PostTransform.probit(value), 0])
            }
            switch additional {
            case 0, 1: return (label, [1 - value, value])
            case 2, 3:
                if transform == .logistic {
                    return (label, [PostTransform.logistic(-value), PostTransform.logistic(value)])
                }
                value = -value
                return (label, [value, -value])
            default: return (label, [value, 0])
            }
        }
        row.withUnsafeMutableBufferPointer { transform.apply($0) }
        return (label, row)
    }

    static var ensemble: Operator {
        Operator(
            "TreeEnsemble", domain: ml,
            attributes: [
                "aggregate_function", "leaf_targetids", "leaf_weights", "membership_values", "n_targets",
                "nodes_falseleafs",
                "nodes_falsenodeids", "nodes_featureids", "nodes_hitrates", "nodes_missing_value_tracks_true",
                "nodes_modes",
                "nodes_splits", "nodes_trueleafs", "nodes_truenodeids", "post_transform", "tree_roots",
            ]
        ) { spec in
            let type = try spec.require(0, in: [.float, .double])
            let targets = spec.int("n_targets", default: 1)
            let transform = PostTransform(rawValue: spec.int("post_transform", default: 0))
            guard let transform else { throw spec.error("post_transform must be 0 to 4") }
            let aggregateNumber = spec.int("aggregate_function", default: 1)
            let aggregates: [CompiledTrees<Double>.Aggregate] = [.average, .sum, .min, .max]
            guard aggregates.indices.contains(aggregateNumber) else {
                throw spec.error("aggregate_function must be 0 to 3")
            }
            let v5 = try EnsembleV5(spec)
            func build<T: BinaryFloatingPoint & ElementaryFunctionsLike & Sendable>(_: T.Type) throws -> Kernel {
                let aggregate: CompiledTrees<T>.Aggregate = [.average, .sum, .min, .max][aggregateNumber]
                let trees: CompiledTrees<T> = try v5.compile(targets: targets, aggregate: aggregate, label: spec.label)
                return { inputs in
                    var (rows, out, has) = try allScores(try tensorInput(inputs, 0), trees)
                    forEachRow(&out, &has, width: targets) { _, scores, _ in transform.apply(scores) }
                    if let floats = out as? [Float] {
                        return [.tensor(ONNXTensor(floats: floats, shape: [rows, targets]))]
                    }
                    return [.tensor(ONNXTensor(doubles: out.map { Double($0) }, shape: [rows, targets]))]
                }
            }
            let kernel = type == .float ? try build(Float.self) : try build(Double.self)
            return CompiledNode(
                kernel: kernel, outputTypes: [.tensor(type, shape: [spec.inputShape(0)?.first ?? nil, targets])])
        }
    }
}
