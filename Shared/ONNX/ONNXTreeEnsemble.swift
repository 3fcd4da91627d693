import Foundation

/// The one `TreeEnsembleRegressor`, `TreeEnsembleClassifier` or (opset 5) `TreeEnsemble` of a graph whose nodes before
/// it only prepare each input column on its own (Cast, Scaler, Imputer, OneHotEncoder,
/// Concat, Reshape, …): the trees as the node's attributes give them, and for each column the
/// ensemble reads, the graph input column it comes from. That is what an exact explanation of
/// the graph needs (contributions over the ensemble's columns add up per graph input); any
/// other shape throws an `ONNXError` saying which node and why.
public struct ONNXTreeEnsemble: Sendable {
    /// A column of a graph input.
    public struct Source: Sendable, Equatable {
        public let input: String
        public let column: Int
    }

    /// `TreeEnsembleRegressor`, `TreeEnsembleClassifier` or `TreeEnsemble`.
    public let operatorName: String
    public var isClassifier: Bool { operatorName == "TreeEnsembleClassifier" }
    /// The value the ensemble reads, for `ONNXModel.evaluate(_:values:)`.
    public let inputName: String
    /// Per column of `inputName`'s rows, where it comes from.
    public let sources: [Source]
    public private(set) var treeIDs: [Int64]
    public private(set) var nodeIDs: [Int64]
    public private(set) var featureIDs: [Int64]
    public private(set) var modes: [String]
    public private(set) var thresholds: [Double]
    public private(set) var trueIDs: [Int64]
    public private(set) var falseIDs: [Int64]
    /// Per node; empty when the attribute is absent (missing values follow the comparison).
    public private(set) var missingTracksTrue: [Bool]
    public private(set) var weightTreeIDs: [Int64]
    public private(set) var weightNodeIDs: [Int64]
    public private(set) var weightTargets: [Int64]
    public private(set) var weights: [Double]
    /// Outputs: `n_targets` of a regressor, the classes of a classifier.
    public private(set) var targets: Int
    public let base: [Double]
    public private(set) var aggregate: String
    public private(set) var postTransform: String
    /// A classifier's labels as text, in the order of its class ids.
    public let labels: [String]?

    /// Finds the ensemble in a serialized model and traces its columns to the graph inputs.
    public init(serialized data: Data) throws {
        let graph = try Onnx_ModelProto(serializedBytes: data).graph
        var layouts: [String: Layout] = [:]
        var sourceList: [Source] = []
        let initializers = Set(graph.initializer.map(\.name))
        // An initializer may also be listed as a graph input (older files): it is a constant.
        for input in graph.input where !initializers.contains(input.name) {
            let info = try ONNXModel.info(input)
            guard let shape = info.shape, shape.count >= 1 else {
                throw ONNXError("graph input \"\(input.name)\" has no declared shape to trace columns through")
            }
            var dims: [Int] = []
            for dim in shape.dropFirst() {
                guard let dim else { throw ONNXError("graph input \"\(input.name)\" has a column count left open") }
                dims.append(dim)
            }
            let width = try Self.width(dims, of: "graph input \"\(input.name)\"")
            let first = sourceList.count
            sourceList += (0..<width).map { Source(input: input.name, column: $0) }
            layouts[input.name] = Layout(dims: dims, sources: Array(first..<(first + width)))
        }
        let constants = Dictionary(
            graph.initializer.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
        var afterEnsemble = Set<String>()
        // Values computed by a node that is not per column, with why: an error only if the trees read them.
        var untraceable: [String: ONNXError] = [:]
        var found: (node: Onnx_NodeProto, input: Layout)?
        for node in try ONNXModel.topologicalOrder(graph) {
            let label = "node \"\(node.name.isEmpty ? (node.output.first ?? "?") : node.name)\" (\(node.opType))"
            if let problem = node.input.lazy.compactMap({ untraceable[$0] }).first {
                if node.opType.hasPrefix("TreeEnsemble") { throw problem }
                for output in node.output { untraceable[output] = problem }
                continue
            }
            let traced = node.input.filter { layouts[$0] != nil }
            if node.input.contains(where: afterEnsemble.contains) {
                guard traced.isEmpty else {
                    throw ONNXError("\(label) mixes the tree ensemble's scores with input columns")
                }
                afterEnsemble.formUnion(node.output)
                continue
            }
            if traced.isEmpty { continue }
            if node.opType.hasPrefix("TreeEnsemble") {
                guard found == nil else { throw ONNXError("the graph has two tree ensembles (\(label))") }
                guard let layout = layouts[node.input[0]] else { throw ONNXError("\(label) reads no input column") }
                found = (node, layout)
                afterEnsemble.formUnion(node.output)
                continue
            }
            do {
                let layout = try Self.propagate(node, label: label, layouts: layouts, constants: constants)
                for output in node.output where !output.isEmpty { layouts[output] = layout }
            } catch let error as ONNXError {
                for output in node.output { untraceable[output] = error }
            }
        }
        guard let (node, layout) = found else {
            throw ONNXError(
                "the graph has no TreeEnsembleRegressor, TreeEnsembleClassifier or TreeEnsemble reading its inputs (operators: \(Set(graph.node.map(\.opType)).sorted().joined(separator: ", ")))"
            )
        }
        let spec = NodeSpec(
            node: node, opset: 3, inputTypes: [],
            attributes: Dictionary(node.attribute.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last }))
        operatorName = node.opType
        inputName = node.input[0]
        sources = layout.sources.map { sourceList[$0] }
        treeIDs = spec.int64s("nodes_treeids") ?? []
        nodeIDs = spec.int64s("nodes_nodeids") ?? []
        featureIDs = spec.int64s("nodes_featureids") ?? []
        modes = spec.strings("nodes_modes") ?? []
        thresholds = try spec.reals("nodes_values") ?? []
        trueIDs = spec.int64s("nodes_truenodeids") ?? []
        falseIDs = spec.int64s("nodes_falsenodeids") ?? []
        missingTracksTrue = (spec.int64s("nodes_missing_value_tracks_true") ?? []).map { $0 != 0 }
        let prefix = node.opType == "TreeEnsembleClassifier" ? "class" : "target"
        weightTreeIDs = spec.int64s("\(prefix)_treeids") ?? []
        weightNodeIDs = spec.int64s("\(prefix)_nodeids") ?? []
        weightTargets = spec.int64s("\(prefix)_ids") ?? []
        weights = try spec.reals("\(prefix)_weights") ?? []
        base = try spec.reals("base_values") ?? []
        aggregate = spec.string("aggregate_function") ?? "SUM"
        postTransform = spec.string("post_transform") ?? "NONE"
        if node.opType == "TreeEnsembleClassifier" {
            let labels =
                spec.strings("classlabels_strings") ?? (spec.int64s("classlabels_int64s") ?? []).map(String.init)
            self.labels = labels
            targets = labels.count
        } else {
            labels = nil
            targets = spec.int("n_targets", default: 1)
        }
        if node.opType == "TreeEnsemble" { try readOpset5(spec) }
        for index in modes.indices where modes[index] != "LEAF" {
            guard index < featureIDs.count, index < thresholds.count,
                (0..<Int64(sources.count)).contains(featureIDs[index])
            else {
                let column = index < featureIDs.count ? featureIDs[index] : -1
                throw ONNXError("a split reads column \(column), not one of the input's \(sources.count)")
            }
            guard thresholds[index].isFinite else {
                throw ONNXError(
                    "a split's threshold is \(thresholds[index]); exact explanations need finite thresholds")
            }
        }
    }

    /// The opset-5 `TreeEnsemble` (nodes and leaves in separate arrays, modes and settings as
    /// numbers) in the older operators' form: each tree walked from its root, its nodes and
    /// leaves numbered as reached, leaves as `LEAF` nodes with their weights. That order is the
    /// one covers are stored in.
    private mutating func readOpset5(_ spec: NodeSpec) throws {
        let v5 = try EnsembleV5(spec)
        // Some attribute names are shared with the older operators, with other meanings.
        (treeIDs, nodeIDs, featureIDs, trueIDs, falseIDs) = ([], [], [], [], [])
        (weightTreeIDs, weightNodeIDs, weightTargets) = ([], [], [])
        (modes, thresholds, missingTracksTrue, weights) = ([], [], [], [])
        let modeNames = [
            "BRANCH_LEQ", "BRANCH_LT", "BRANCH_GTE", "BRANCH_GT", "BRANCH_EQ", "BRANCH_NEQ", "BRANCH_MEMBER",
        ]
        let limit = v5.features.count + v5.leafWeights.count
        for (tree, root) in v5.roots.enumerated() {
            var pending: [(leaf: Bool, index: Int, id: Int64)] = [(false, Int(root), 0)]
            var nextID: Int64 = 1
            while let (leaf, index, id) = pending.popLast() {
                guard nextID <= limit + 1, leaf ? index < v5.leafWeights.count : index < v5.features.count else {
                    throw ONNXError("TreeEnsemble tree \(tree) is not a tree over its nodes and leaves")
                }
                treeIDs.append(Int64(tree))
                nodeIDs.append(id)
                if leaf {
                    modes.append("LEAF")
                    featureIDs.append(0)
                    thresholds.append(0)
                    trueIDs.append(0)
                    falseIDs.append(0)
                    missingTracksTrue.append(false)
                    weightTreeIDs.append(Int64(tree))
                    weightNodeIDs.append(id)
                    weightTargets.append(v5.leafTargets[index])
                    weights.append(v5.leafWeights[index])
                    continue
                }
                let mode = Int(v5.modes[index])
                modes.append(mode < modeNames.count ? modeNames[mode] : "mode \(mode)")
                featureIDs.append(v5.features[index])
                thresholds.append(v5.splits[index])
                trueIDs.append(nextID)
                falseIDs.append(nextID + 1)
                missingTracksTrue.append(index < v5.missingTrue.count && v5.missingTrue[index] != 0)
                pending.append((v5.trueLeafs[index] != 0, Int(v5.trueIDs[index]), nextID))
                pending.append((v5.falseLeafs[index] != 0, Int(v5.falseIDs[index]), nextID + 1))
                nextID += 2
            }
        }
        let aggregates = ["AVERAGE", "SUM", "MIN", "MAX"]
        let transforms = ["NONE", "SOFTMAX", "LOGISTIC", "SOFTMAX_ZERO", "PROBIT"]
        let aggregate = spec.int("aggregate_function", default: 1)
        let transform = spec.int("post_transform", default: 0)
        self.aggregate = aggregates.indices.contains(aggregate) ? aggregates[aggregate] : "\(aggregate)"
        postTransform = transforms.indices.contains(transform) ? transforms[transform] : "\(transform)"
        targets = spec.int("n_targets", default: 1)
    }

    /// The elements in a row of these dims, refused past a million (a declared shape is untrusted).
    static func width(_ dims: [Int], of label: String) throws -> Int {
        var width = 1
        for dim in dims {
            let (product, overflow) = width.multipliedReportingOverflow(by: max(dim, 0))
            guard !overflow, product <= 1_000_000 else {
                throw ONNXError("\(label) has rows of more than a million values")
            }
            width = product
        }
        return width
    }

    /// A value's rows as traced: the shape after the batch dimension, and the source of each
    /// element of a row (row-major).
    struct Layout {
        var dims: [Int]
        var sources: [Int]
    }

    static let elementwise: Set<String> = [
        "Identity", "Cast", "Scaler", "Imputer", "Binarizer", "LabelEncoder", "Abs", "Neg", "Floor", "Ceil", "Round",
        "Relu", "Sigmoid", "Exp", "Log", "Sqrt",
    ]
    static let arithmetic: Set<String> = ["Add", "Sub", "Mul", "Div"]

    /// The layout of a preprocessing node's outputs, or why it is not per column.
    static func propagate(
        _ node: Onnx_NodeProto, label: String, layouts: [String: Layout], constants: [String: Onnx_TensorProto]
    ) throws -> Layout {
        let attributes = Dictionary(node.attribute.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
        let perColumn =
            "exact explanations need the nodes before the tree ensemble to work on each column alone (Cast, Scaler, Imputer, OneHotEncoder, Concat, Reshape, Flatten, arithmetic with constants)"
        let traced = node.input.compactMap { layouts[$0] }
        switch node.opType {
        case _ where elementwise.contains(node.opType):
            return traced[0]
        case _ where arithmetic.contains(node.opType):
            guard traced.count == 1,
                node.input.allSatisfy({ layouts[$0] != nil || constants[$0] != nil })
            else { throw ONNXError("\(label) combines columns with each other; \(perColumn)") }
            for name in node.input where constants[name] != nil {
                let dims = constants[name]!.dims.map(Int.init)
                let count = dims.reduce(1, *)
                guard count == 1 || Array(dims.drop { $0 == 1 }) == Array(traced[0].dims.drop { $0 == 1 }) else {
                    throw ONNXError("\(label) broadcasts a constant of shape \(dims) across columns; \(perColumn)")
                }
            }
            return traced[0]
        case "OneHotEncoder":
            let categories = max(
                attributes["cats_strings"]?.strings.count ?? 0, attributes["cats_int64s"]?.ints.count ?? 0)
            let layout = traced[0]
            _ = try width(layout.dims + [categories], of: label)
            return Layout(
                dims: layout.dims + [categories],
                sources: layout.sources.flatMap { Array(repeating: $0, count: categories) })
        case "Concat":
            guard traced.count == node.input.count else {
                throw ONNXError("\(label) concatenates input columns with constants; \(perColumn)")
            }
            let rank = traced[0].dims.count + 1
            var axis = Int(attributes["axis"]?.i ?? 1)
            if axis < 0 { axis += rank }
            let position = axis - 1
            guard position >= 0, position < traced[0].dims.count,
                traced[0].dims[..<position].reduce(1, *) == 1,
                traced.allSatisfy({ $0.dims.count == rank - 1 })
            else { throw ONNXError("\(label) concatenates along an axis that interleaves rows; \(perColumn)") }
            var dims = traced[0].dims
            dims[position] = traced.map { $0.dims[position] }.reduce(0, +)
            return Layout(dims: dims, sources: traced.flatMap(\.sources))
        case "Gather", "ArrayFeatureExtractor":
            // Picking columns of a [N, C] value by constant indices (skl2onnx's column selection).
            let axis = node.opType == "Gather" ? Int(attributes["axis"]?.i ?? 0) : 1
            guard traced.count == 1, layouts[node.input[0]] != nil, traced[0].dims.count == 1, axis == 1 || axis == -1,
                node.input.count > 1, let indices = constants[node.input[1]]
            else { throw ONNXError("\(label) picks values other than whole columns by constant indices; \(perColumn)") }
            let width = traced[0].sources.count
            let picked = (try ONNXTensor(proto: indices, name: "\(label) indices").int64s ?? []).map {
                Int($0 < 0 ? $0 + Int64(width) : $0)
            }
            guard picked.allSatisfy({ (0..<width).contains($0) }) else {
                throw ONNXError("\(label) picks a column out of range")
            }
            return Layout(dims: [picked.count], sources: picked.map { traced[0].sources[$0] })
        case "Flatten":
            guard (attributes["axis"]?.i ?? 1) == 1 else {
                throw ONNXError("\(label) flattens across rows; \(perColumn)")
            }
            return Layout(dims: [traced[0].sources.count], sources: traced[0].sources)
        case "Reshape":
            guard node.input.count > 1, let shape = constants[node.input[1]] else {
                throw ONNXError("\(label) reshapes to a shape computed in the graph; \(perColumn)")
            }
            let target = try ONNXTensor(proto: shape, name: "Reshape's shape").int64s ?? []
            let width = traced[0].sources.count
            guard let first = target.first, first == -1 || first == 0 else {
                throw ONNXError("\(label) reshapes the batch dimension; \(perColumn)")
            }
            var dims = target.dropFirst().map(Int.init)
            if let open = dims.firstIndex(of: -1) {
                let known = dims.filter { $0 != -1 }.reduce(1, *)
                dims[open] = known == 0 ? 0 : width / known
            }
            guard dims.reduce(1, *) == width else { throw ONNXError("\(label) changes the row width; \(perColumn)") }
            return Layout(dims: dims, sources: traced[0].sources)
        default:
            throw ONNXError("\(label) reads input columns before the tree ensemble; \(perColumn)")
        }
    }
}
