import Foundation
import SwiftProtobuf

/// An ONNX model loaded, checked and compiled for evaluation. Loading is
/// validation: the opsets, every node's operator and attributes, element
/// types through the graph and the absence of cycles are checked here, so a
/// model that loads does not fail at serving time for any of those reasons.
public struct ONNXModel: Sendable {
    public static let supportedOpsets: [String: ClosedRange<Int>] = ["": 1...28, "ai.onnx.ml": 1...5]

    /// Every operator the evaluator runs, as `domain.Name` (`ai.onnx.Add`, `ai.onnx.ml.TreeEnsemble`).
    public static var supportedOperators: [String] { Operators.supported }

    public let inputs: [ONNXValueInfo]
    public let outputs: [ONNXValueInfo]
    /// `producer_name producer_version`, e.g. `skl2onnx 1.20.0`.
    public let producer: String
    /// Opset version by domain (`ai.onnx` for the default domain).
    public let opsets: [String: Int]
    /// Operators the graph uses, as `domain:Name` (`ai.onnx:Add`).
    public let operatorsUsed: [String]
    /// A classifier's labels in the order of its probabilities (from ZipMap
    /// or the classifier node), as text; nil when the graph has none.
    public let labels: [String]?

    struct Step: Sendable {
        let kernel: Kernel
        let inputSlots: [Int]
        let outputSlots: [Int]
        let label: String
    }
    let steps: [Step]
    let initialSlots: [ONNXValue?]
    let inputSlots: [Int]
    let outputSlots: [Int]
    /// Every named value's slot (inputs, initializers, node outputs).
    let valueSlots: [String: Int]

    /// Loads a serialized `ModelProto`.
    public init(serialized data: Data) throws {
        let proto: Onnx_ModelProto
        do {
            proto = try Onnx_ModelProto(serializedBytes: data)
        } catch {
            throw ONNXError("the file is not an ONNX model (protobuf does not decode: \(error))")
        }
        try self.init(proto: proto)
    }

    /// Loads an `.onnx` file.
    public init(contentsOf url: URL) throws {
        try self.init(serialized: try Data(contentsOf: url))
    }

    init(proto: Onnx_ModelProto) throws {
        guard proto.hasGraph else { throw ONNXError("the model has no graph") }
        var opsets: [String: Int] = [:]
        for opset in proto.opsetImport {
            let domain = opset.domain == "ai.onnx" ? "" : opset.domain
            guard let range = Self.supportedOpsets[domain] else {
                throw ONNXError("opset domain \"\(opset.domain)\" is not supported (supported: ai.onnx, ai.onnx.ml)")
            }
            guard range.contains(Int(opset.version)) else {
                throw ONNXError(
                    "opset \(domain.isEmpty ? "ai.onnx" : domain) version \(opset.version) is not supported (\(range.lowerBound)–\(range.upperBound))"
                )
            }
            opsets[domain] = Int(opset.version)
        }
        if opsets.isEmpty { opsets[""] = 1 }
        self.opsets = Dictionary(uniqueKeysWithValues: opsets.map { ($0.key.isEmpty ? "ai.onnx" : $0.key, $0.value) })
        producer = [proto.producerName, proto.producerVersion].filter { !$0.isEmpty }.joined(separator: " ")

        let graph = proto.graph
        var slotOf: [String: Int] = [:]
        var types: [ValueType] = []
        var initial: [ONNXValue?] = []
        func newSlot(_ name: String, _ type: ValueType, constant: ONNXTensor? = nil) throws -> Int {
            guard slotOf[name] == nil else { throw ONNXError("value \"\(name)\" is defined twice") }
            slotOf[name] = types.count
            types.append(type)
            initial.append(constant.map { .tensor($0) })
            return types.count - 1
        }
        for initializer in graph.initializer {
            let tensor = try ONNXTensor(proto: initializer, name: "initializer \"\(initializer.name)\"")
            _ = try newSlot(
                initializer.name, .tensor(tensor.elementType, shape: tensor.shape.map { $0 }), constant: tensor)
        }
        var inputInfos: [ONNXValueInfo] = []
        var inputSlots: [Int] = []
        for input in graph.input where slotOf[input.name] == nil {
            let info = try Self.info(input)
            guard let element = info.elementType else {
                throw ONNXError("graph input \"\(input.name)\" must be a tensor")
            }
            inputInfos.append(info)
            inputSlots.append(try newSlot(input.name, .tensor(element, shape: info.shape)))
        }
        inputs = inputInfos
        self.inputSlots = inputSlots

        var steps: [Step] = []
        var used = Set<String>()
        for node in try Self.topologicalOrder(graph) {
            let domain = node.domain == "ai.onnx" ? "" : node.domain
            let label = "node \"\(node.name.isEmpty ? (node.output.first ?? "?") : node.name)\" (\(node.opType))"
            guard let op = Operators.registry[Operator.key(domain: domain, name: node.opType)] else {
                throw ONNXError(
                    "\(label): operator \(domain.isEmpty ? "ai.onnx" : domain).\(node.opType) is not supported; see docs/bring-your-own-model.md's operator table"
                )
            }
            guard let opset = opsets[domain] else {
                throw ONNXError(
                    "\(label): the model imports no opset for domain \(domain.isEmpty ? "ai.onnx" : domain)")
            }
            var attributes: [String: Onnx_AttributeProto] = [:]
            for attribute in node.attribute {
                guard op.attributes.contains(attribute.name) else {
                    throw ONNXError("\(label): attribute \"\(attribute.name)\" is not supported")
                }
                if !attribute.refAttrName.isEmpty {
                    throw ONNXError("\(label): attribute \"\(attribute.name)\" refers to a function attribute")
                }
                attributes[attribute.name] = attribute
            }
            let inputIndices = node.input.map { $0.isEmpty ? -1 : slotOf[$0]! }
            let spec = NodeSpec(
                node: node, opset: opset, inputTypes: inputIndices.map { $0 < 0 ? nil : types[$0] },
                attributes: attributes)
            let compiled = try op.compile(spec)
            guard compiled.outputTypes.count >= node.output.count else {
                throw ONNXError(
                    "\(label): has \(node.output.count) outputs; the operator makes \(compiled.outputTypes.count)")
            }
            var outputSlots: [Int] = []
            for (index, name) in node.output.enumerated() {
                outputSlots.append(name.isEmpty ? -1 : try newSlot(name, compiled.outputTypes[index]))
            }
            used.insert("\(domain.isEmpty ? "ai.onnx" : domain):\(node.opType)")
            steps.append(
                Step(kernel: compiled.kernel, inputSlots: inputIndices, outputSlots: outputSlots, label: label))
        }
        var outputInfos: [ONNXValueInfo] = []
        var outputSlots: [Int] = []
        for output in graph.output {
            guard let slot = slotOf[output.name] else {
                throw ONNXError("graph output \"\(output.name)\" is not produced by any node")
            }
            let declared = try? Self.info(output)
            let inferred = types[slot]
            if let declaredType = declared?.elementType, let inferredType = inferred.element,
                declaredType != inferredType
            {
                throw ONNXError(
                    "graph output \"\(output.name)\" is declared \(declaredType) but the graph makes \(inferredType)")
            }
            outputInfos.append(
                ONNXValueInfo(
                    name: output.name, elementType: inferred.element, shape: declared?.shape ?? inferred.shape))
            outputSlots.append(slot)
        }
        outputs = outputInfos
        self.outputSlots = outputSlots
        self.steps = steps
        valueSlots = slotOf
        initialSlots = initial
        operatorsUsed = used.sorted()
        labels = Self.labels(of: graph)
    }

    /// Class labels from the last node that declares them (ZipMap follows the classifier).
    static func labels(of graph: Onnx_GraphProto) -> [String]? {
        for node in graph.node.reversed() {
            for attribute in node.attribute {
                switch attribute.name {
                case "classlabels_strings" where !attribute.strings.isEmpty:
                    return attribute.strings.map { String(decoding: $0, as: UTF8.self) }
                case "classlabels_int64s", "classlabels_ints":
                    if !attribute.ints.isEmpty { return attribute.ints.map(String.init) }
                default: continue
                }
            }
        }
        return nil
    }

    /// The class labels, or an error saying the graph declares none.
    public func classLabels() throws -> [String] {
        guard let labels else { throw ONNXError("the model declares no class labels (classlabels_* attributes)") }
        return labels
    }

    /// Runs the graph on named input tensors; returns every graph output by name.
    public func run(_ feeds: [String: ONNXTensor]) throws -> [String: ONNXValue] {
        let values = try evaluate(feeds)
        var result: [String: ONNXValue] = [:]
        for (info, value) in zip(outputs, values) { result[info.name] = value }
        return result
    }

    /// Runs the graph; outputs in `outputs` order.
    public func evaluate(_ feeds: [String: ONNXTensor]) throws -> [ONNXValue] {
        try evaluate(feeds, slots: outputSlots)
    }

    /// Runs the graph and returns the values named `names` (any node's output, not only the
    /// graph's outputs): what an explanation reads from inside the graph.
    public func evaluate(_ feeds: [String: ONNXTensor], values names: [String]) throws -> [ONNXValue] {
        let slots = try names.map { name in
            guard let slot = valueSlots[name] else { throw ONNXError("the graph has no value \"\(name)\"") }
            return slot
        }
        // Only the nodes up to the last one making a wanted value run: an explanation reads the
        // ensemble's input, and the graph's prediction already ran once for the same row.
        let wanted = Set(slots)
        let last = steps.lastIndex { $0.outputSlots.contains(where: wanted.contains) } ?? -1
        return try evaluate(feeds, slots: slots, through: last)
    }

    private func evaluate(
        _ feeds: [String: ONNXTensor], slots wanted: [Int], through last: Int? = nil
    ) throws -> [ONNXValue] {
        var slots = initialSlots
        for (info, slot) in zip(inputs, inputSlots) {
            guard let tensor = feeds[info.name] else { throw ONNXError("input \"\(info.name)\" is missing") }
            guard tensor.elementType == info.elementType else {
                throw ONNXError(
                    "input \"\(info.name)\" must be \(info.elementType.map(\.description) ?? "?"), got \(tensor.elementType)"
                )
            }
            if let shape = info.shape {
                guard shape.count == tensor.shape.count,
                    zip(shape, tensor.shape).allSatisfy({ $0.0 == nil || $0.0 == $0.1 })
                else {
                    let declared = shape.map { $0.map(String.init) ?? "N" }.joined(separator: ", ")
                    throw ONNXError("input \"\(info.name)\" must have shape [\(declared)], got \(tensor.shape)")
                }
            }
            slots[slot] = .tensor(tensor)
        }
        for step in steps[..<((last ?? steps.count - 1) + 1)] {
            let inputs = step.inputSlots.map { $0 < 0 ? nil : slots[$0] }
            let outputs: [ONNXValue]
            do {
                outputs = try step.kernel(inputs)
            } catch let error as ONNXError {
                throw ONNXError("\(step.label): \(error.message)")
            }
            for (slot, value) in zip(step.outputSlots, outputs) where slot >= 0 { slots[slot] = value }
        }
        return try wanted.map { slot in
            guard let value = slots[slot] else { throw ONNXError("a graph output was not computed") }
            return value
        }
    }

    static func info(_ value: Onnx_ValueInfoProto) throws -> ONNXValueInfo {
        let type = value.type
        switch type.value {
        case .tensorType(let tensor):
            guard let element = ONNXElementType(rawValue: Int(tensor.elemType)) else {
                throw ONNXError(
                    "\"\(value.name)\": element type \(ONNXElementType.name(of: Int(tensor.elemType))) is not supported"
                )
            }
            let shape: [Int?]? =
                tensor.hasShape
                ? tensor.shape.dim.map { dim in
                    if case .dimValue(let v) = dim.value, v >= 0 { return Int(v) }
                    return nil
                } : nil
            return ONNXValueInfo(name: value.name, elementType: element, shape: shape)
        case .sequenceType, .mapType:
            return ONNXValueInfo(name: value.name, elementType: nil, shape: nil)
        default:
            throw ONNXError("\"\(value.name)\": only tensors are supported as graph inputs")
        }
    }

    /// Nodes in an order where every input is produced before it is read;
    /// a cycle or an input nothing produces fails, naming the value.
    static func topologicalOrder(_ graph: Onnx_GraphProto) throws -> [Onnx_NodeProto] {
        var available = Set(graph.initializer.map(\.name)).union(graph.input.map(\.name))
        var producers: [String: Int] = [:]
        for (index, node) in graph.node.enumerated() {
            for output in node.output where !output.isEmpty {
                if producers[output] != nil || available.contains(output) {
                    throw ONNXError("value \"\(output)\" is produced twice")
                }
                producers[output] = index
            }
        }
        for node in graph.node {
            for input in node.input where !input.isEmpty && producers[input] == nil && !available.contains(input) {
                throw ONNXError("node \"\(node.name)\" (\(node.opType)) reads \"\(input)\", which nothing produces")
            }
        }
        var order: [Onnx_NodeProto] = []
        var remaining = Array(graph.node.indices)
        while !remaining.isEmpty {
            var next: [Int] = []
            var progressed = false
            for index in remaining {
                let node = graph.node[index]
                if node.input.allSatisfy({ $0.isEmpty || available.contains($0) }) {
                    order.append(node)
                    available.formUnion(node.output)
                    progressed = true
                } else {
                    next.append(index)
                }
            }
            guard progressed else {
                let names = next.prefix(5).map { "\"\(graph.node[$0].name)\"" }.joined(separator: ", ")
                throw ONNXError("the graph has a cycle through nodes \(names)")
            }
            remaining = next
        }
        return order
    }
}
