import Foundation

/// Runs one node: inputs in the node's order (nil where omitted), outputs in its order.
typealias Kernel = @Sendable ([ONNXValue?]) throws -> [ONNXValue]

/// One node as an operator sees it while compiling: attributes, input types
/// and helpers for clear errors.
struct NodeSpec {
    let node: Onnx_NodeProto
    let opset: Int
    let inputTypes: [ValueType?]
    let attributes: [String: Onnx_AttributeProto]

    var label: String {
        let name = node.name.isEmpty ? (node.output.first ?? "?") : node.name
        return "node \"\(name)\" (\(node.opType))"
    }

    func error(_ problem: String) -> ONNXError { ONNXError("\(label): \(problem)") }

    /// Input `index`'s element type, which must be present and a tensor.
    func inputType(_ index: Int) throws -> ONNXElementType {
        guard index < inputTypes.count, let type = inputTypes[index] else {
            throw error("input \(index + 1) is required")
        }
        guard let element = type.element else { throw error("input \(index + 1) must be a tensor") }
        return element
    }

    func inputShape(_ index: Int) -> [Int?]? { index < inputTypes.count ? inputTypes[index]?.shape : nil }

    /// Requires input `index` to be one of `allowed`.
    @discardableResult
    func require(_ index: Int, in allowed: Set<ONNXElementType>) throws -> ONNXElementType {
        let type = try inputType(index)
        guard allowed.contains(type) else {
            let names = allowed.map(\.description).sorted().joined(separator: ", ")
            throw error("input \(index + 1) is \(type); expected \(names)")
        }
        return type
    }

    /// Axes from input 2 when the node's opset is at least `inputOpset`, from
    /// the `axes` attribute before (Squeeze, Unsqueeze and the reductions moved them).
    func axes(_ inputs: [ONNXValue?], fromInputAt inputOpset: Int) -> [Int]? {
        opset >= inputOpset ? optionalTensorInput(inputs, 1)?.int64s?.map { Int($0) } : ints("axes")
    }

    func int(_ name: String) -> Int? { attributes[name].map { Int($0.i) } }
    func int(_ name: String, default value: Int) -> Int { int(name) ?? value }
    func ints(_ name: String) -> [Int]? { attributes[name].map { $0.ints.map { Int($0) } } }
    func int64s(_ name: String) -> [Int64]? { attributes[name]?.ints }
    func float(_ name: String) -> Float? { attributes[name]?.f }
    func floats(_ name: String) -> [Float]? { attributes[name]?.floats }
    func string(_ name: String) -> String? {
        attributes[name].map { String(decoding: $0.s, as: UTF8.self) }
    }
    func strings(_ name: String) -> [String]? {
        attributes[name].map { $0.strings.map { String(decoding: $0, as: UTF8.self) } }
    }
    func tensor(_ name: String) throws -> ONNXTensor? {
        guard let attribute = attributes[name] else { return nil }
        return try ONNXTensor(proto: attribute.t, name: "\(label) attribute \(name)")
    }

    /// A float list given either as `name` or as the tensor `name_as_tensor` (opset 3 of the ML trees).
    func reals(_ name: String) throws -> [Double]? {
        if let tensor = try tensor("\(name)_as_tensor") { return tensor.doubles }
        return floats(name).map { $0.map(Double.init) }
    }
}

/// Reads a kernel's required tensor input.
func tensorInput(_ inputs: [ONNXValue?], _ index: Int) throws -> ONNXTensor {
    guard index < inputs.count, let value = inputs[index], case .tensor(let tensor) = value else {
        throw ONNXError("input \(index + 1) is missing or not a tensor")
    }
    return tensor
}

/// Reads a kernel's optional tensor input.
func optionalTensorInput(_ inputs: [ONNXValue?], _ index: Int) -> ONNXTensor? {
    guard index < inputs.count, let value = inputs[index], case .tensor(let tensor) = value else { return nil }
    return tensor
}
