import Foundation

/// Operators that move, select, reshape or convert elements.
enum ShapeOperators {
    static var all: [Operator] {
        [identity, constant, cast, concat, gather, slice, reshape, flatten, squeeze, unsqueeze, transpose, shapeOf]
    }

    static func single(_ tensor: ONNXTensor) -> [ONNXValue] { [.tensor(tensor)] }

    static var identity: Operator {
        Operator("Identity") { spec in
            guard let type = spec.inputTypes.first ?? nil else { throw spec.error("input 1 is required") }
            return CompiledNode(kernel: { inputs in [inputs[0]!] }, outputTypes: [type])
        }
    }

    static var constant: Operator {
        Operator(
            "Constant",
            attributes: [
                "value", "value_float", "value_floats", "value_int", "value_ints", "value_string", "value_strings",
            ]
        ) { spec in
            let tensor: ONNXTensor
            if let value = try spec.tensor("value") {
                tensor = value
            } else if let value = spec.float("value_float") {
                tensor = ONNXTensor(floats: [value], shape: [])
            } else if let values = spec.floats("value_floats") {
                tensor = ONNXTensor(floats: values, shape: [values.count])
            } else if let attribute = spec.attributes["value_int"] {
                tensor = ONNXTensor(int64s: [attribute.i], shape: [])
            } else if let values = spec.int64s("value_ints") {
                tensor = ONNXTensor(int64s: values, shape: [values.count])
            } else if let value = spec.string("value_string") {
                tensor = ONNXTensor(strings: [value], shape: [])
            } else if let values = spec.strings("value_strings") {
                tensor = ONNXTensor(strings: values, shape: [values.count])
            } else {
                throw spec.error("needs a value attribute")
            }
            return CompiledNode(
                kernel: { _ in single(tensor) }, outputTypes: [.tensor(tensor.elementType, shape: tensor.shape)])
        }
    }

    static var cast: Operator {
        Operator("Cast", attributes: ["to", "saturate", "round_mode"]) { spec in
            _ = try spec.inputType(0)
            guard let number = spec.int("to") else { throw spec.error("attribute \"to\" is required") }
            guard let target = ONNXElementType(rawValue: number) else {
                throw spec.error("casting to element type \(ONNXElementType.name(of: number)) is not supported")
            }
            return CompiledNode(
                kernel: { inputs in
                    let x = try tensorInput(inputs, 0)
                    return single(ONNXTensor(shape: x.shape, storage: convert(x.storage, to: target)))
                }, outputTypes: [.tensor(target, shape: spec.inputShape(0))])
        }
    }

    /// Element conversion as ONNX's Cast defines it (C casts between numbers).
    static func convert(_ storage: ONNXTensor.Storage, to target: ONNXElementType) -> ONNXTensor.Storage {
        func integer(_ value: Double) -> Int64 {
            guard value.isFinite, value > -9.3e18, value < 9.3e18 else { return Int64.min }
            return Int64(value)
        }
        if case .string(let strings) = storage {
            switch target {
            case .string: return storage
            case .bool: return .bool(strings.map { (Double($0) ?? 0) != 0 })
            case .float: return .float(strings.map { parseFloat($0) })
            case .double: return .double(strings.map { Double(parseFloat($0, double: true)) })
            case .int64: return .int64(strings.map { Int64($0) ?? integer(Double($0) ?? .nan) })
            case .int32:
                return .int32(strings.map { Int32($0) ?? Int32(truncatingIfNeeded: integer(Double($0) ?? .nan)) })
            }
        }
        switch target {
        case .float:
            if case .float = storage { return storage }
            if case .int64(let v) = storage { return .float(v.map { Float($0) }) }
            return .float(ONNXTensor(shape: [], storage: storage).doubles.map { Float($0) })
        case .double: return .double(ONNXTensor(shape: [], storage: storage).doubles)
        case .int64:
            if case .int64 = storage { return storage }
            if case .int32(let v) = storage { return .int64(v.map(Int64.init)) }
            return .int64(ONNXTensor(shape: [], storage: storage).doubles.map(integer))
        case .int32:
            if case .int32 = storage { return storage }
            if case .int64(let v) = storage { return .int32(v.map { Int32(truncatingIfNeeded: $0) }) }
            return .int32(
                ONNXTensor(shape: [], storage: storage).doubles.map { Int32(truncatingIfNeeded: integer($0)) })
        case .bool:
            if case .bool = storage { return storage }
            return .bool(ONNXTensor(shape: [], storage: storage).doubles.map { $0 != 0 })
        case .string:
            switch storage {
            case .float(let v): return .string(v.map(formatFloat))
            case .double(let v): return .string(v.map(formatDouble))
            case .int64(let v): return .string(v.map(String.init))
            case .int32(let v): return .string(v.map(String.init))
            case .bool(let v): return .string(v.map { $0 ? "1" : "0" })
            case .string: return storage
            }
        }
    }

    static func parseFloat(_ text: String) -> Float { Float(parseFloat(text, double: false)) }

    static func parseFloat(_ text: String, double: Bool) -> Double {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        switch trimmed.lowercased() {
        case "inf", "+inf", "infinity", "+infinity": return .infinity
        case "-inf", "-infinity": return -.infinity
        case "nan", "+nan", "-nan": return .nan
        default: return double ? (Double(trimmed) ?? .nan) : Double(Float(trimmed) ?? .nan)
        }
    }

    static func formatFloat(_ value: Float) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "INF" : "-INF" }
        return "\(value)"
    }

    static func formatDouble(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "INF" : "-INF" }
        return "\(value)"
    }

    static var concat: Operator {
        Operator("Concat", attributes: ["axis"]) { spec in
            let type = try spec.inputType(0)
            for index in spec.inputTypes.indices where try spec.inputType(index) != type {
                throw spec.error("input \(index + 1) is \(try spec.inputType(index)), input 1 is \(type)")
            }
            guard let axis = spec.int("axis") else { throw spec.error("attribute \"axis\" is required") }
            return CompiledNode(
                kernel: { inputs in
                    let tensors = try inputs.indices.map { try tensorInput(inputs, $0) }
                    let rank = tensors[0].shape.count
                    let axis = try Axes.normalize(axis, rank: rank)
                    var shape = tensors[0].shape
                    for tensor in tensors.dropFirst() {
                        guard tensor.shape.count == rank,
                            tensor.shape.indices.allSatisfy({ $0 == axis || tensor.shape[$0] == shape[$0] })
                        else { throw ONNXError("Concat: shapes \(tensors.map(\.shape)) differ off axis \(axis)") }
                        shape[axis] += tensor.shape[axis]
                    }
                    let outer = shape[..<axis].reduce(1, *)
                    let blocks = tensors.map { $0.shape[axis...].reduce(1, *) }
                    let storage = try ONNXTensor.Storage.interleaved(
                        tensors.map(\.storage), blocks: blocks, outer: outer)
                    return single(ONNXTensor(shape: shape, storage: storage))
                }, outputTypes: [.tensor(type)])
        }
    }

    static var gather: Operator {
        Operator("Gather", attributes: ["axis"]) { spec in
            let type = try spec.inputType(0)
            try spec.require(1, in: [.int64, .int32])
            let axisAttribute = spec.int("axis", default: 0)
            return CompiledNode(
                kernel: { inputs in
                    let data = try tensorInput(inputs, 0)
                    let indices = try tensorInput(inputs, 1)
                    let axis = try Axes.normalize(axisAttribute, rank: data.shape.count)
                    let dim = data.shape[axis]
                    let outer = data.shape[..<axis].reduce(1, *)
                    let inner = data.shape[(axis + 1)...].reduce(1, *)
                    let picks = try (indices.int64s ?? []).map { raw -> Int in
                        let index = Int(raw) < 0 ? Int(raw) + dim : Int(raw)
                        guard index >= 0, index < dim else { throw ONNXError("Gather: index \(raw) is out of range") }
                        return index
                    }
                    var positions: [Int] = []
                    positions.reserveCapacity(outer * picks.count * inner)
                    for o in 0..<outer {
                        for p in picks {
                            let base = (o * dim + p) * inner
                            for i in 0..<inner { positions.append(base + i) }
                        }
                    }
                    let shape = Array(data.shape[..<axis]) + indices.shape + Array(data.shape[(axis + 1)...])
                    return single(ONNXTensor(shape: shape, storage: data.storage.picking(positions)))
                }, outputTypes: [.tensor(type)])
        }
    }

    static var slice: Operator {
        Operator("Slice", attributes: ["starts", "ends", "axes"]) { spec in
            let type = try spec.inputType(0)
            let legacy = spec.opset < 10
            let attributeStarts = spec.ints("starts")
            let attributeEnds = spec.ints("ends")
            let attributeAxes = spec.ints("axes")
            return CompiledNode(
                kernel: { inputs in
                    let data = try tensorInput(inputs, 0)
                    let starts: [Int]
                    let ends: [Int]
                    var axes: [Int]?
                    var steps: [Int]?
                    if legacy {
                        guard let s = attributeStarts, let e = attributeEnds else {
                            throw ONNXError("starts and ends are required")
                        }
                        (starts, ends, axes) = (s, e, attributeAxes)
                    } else {
                        starts = (try tensorInput(inputs, 1).int64s ?? []).map(clampToInt)
                        ends = (try tensorInput(inputs, 2).int64s ?? []).map(clampToInt)
                        axes = optionalTensorInput(inputs, 3)?.int64s?.map { Int($0) }
                        steps = optionalTensorInput(inputs, 4)?.int64s?.map(clampToInt)
                    }
                    let rank = data.shape.count
                    let axisList = try (axes ?? Array(0..<starts.count)).map { try Axes.normalize($0, rank: rank) }
                    guard starts.count == ends.count, axisList.count == starts.count,
                        Set(axisList).count == axisList.count
                    else { throw ONNXError("Slice: starts, ends and axes must match") }
                    var ranges = data.shape.map { (start: 0, step: 1, count: $0) }
                    for (i, axis) in axisList.enumerated() {
                        let dim = data.shape[axis]
                        let step = steps?[i] ?? 1
                        guard step != 0 else { throw ONNXError("Slice: step 0") }
                        var start = starts[i] < 0 ? starts[i] + dim : starts[i]
                        var end = ends[i] < 0 ? ends[i] + dim : ends[i]
                        if step > 0 {
                            start = min(max(start, 0), dim)
                            end = min(max(end, 0), dim)
                            ranges[axis] = (start, step, max(0, (end - start + step - 1) / step))
                        } else {
                            start = min(max(start, 0), dim - 1)
                            end = min(max(end, -1), dim - 1)
                            ranges[axis] = (start, step, max(0, (start - end + (-step) - 1) / (-step)))
                        }
                    }
                    let strides = Axes.strides(data.shape)
                    let shape = ranges.map(\.count)
                    let positions = Axes.positions(
                        shape: shape, base: (0..<rank).reduce(0) { $0 + ranges[$1].start * strides[$1] },
                        strides: (0..<rank).map { ranges[$0].step * strides[$0] })
                    return single(ONNXTensor(shape: shape, storage: data.storage.picking(positions)))
                }, outputTypes: [.tensor(type)])
        }
    }

    static func clampToInt(_ value: Int64) -> Int { Int(max(min(value, Int64(Int32.max) * 4), -Int64(Int32.max) * 4)) }

    static func reshaped(_ shape: [Int], to requested: [Int], allowZero: Bool) throws -> [Int] {
        var result = requested
        var inferred: Int?
        for (axis, dim) in requested.enumerated() {
            if dim == 0 && !allowZero {
                guard axis < shape.count else {
                    throw ONNXError("Reshape: 0 at axis \(axis) copies a missing dimension")
                }
                result[axis] = shape[axis]
            } else if dim == -1 {
                guard inferred == nil else { throw ONNXError("Reshape: more than one -1") }
                inferred = axis
            } else if dim < -1 {
                throw ONNXError("Reshape: dimension \(dim) is invalid")
            }
        }
        let total = shape.reduce(1, *)
        if let inferred {
            let known = result.enumerated().filter { $0.offset != inferred }.reduce(1) { $0 * $1.element }
            guard known > 0, total % known == 0 else { throw ONNXError("Reshape: \(shape) cannot become \(requested)") }
            result[inferred] = total / known
        }
        guard result.reduce(1, *) == total else { throw ONNXError("Reshape: \(shape) cannot become \(requested)") }
        return result
    }

    static var reshape: Operator {
        Operator("Reshape", attributes: ["shape", "allowzero"]) { spec in
            let type = try spec.inputType(0)
            let attributeShape = spec.ints("shape")
            let allowZero = spec.int("allowzero", default: 0) != 0
            if spec.opset >= 5 { try spec.require(1, in: [.int64]) }
            return CompiledNode(
                kernel: { inputs in
                    let data = try tensorInput(inputs, 0)
                    let requested =
                        spec.opset >= 5
                        ? (try tensorInput(inputs, 1).int64s ?? []).map { Int($0) } : (attributeShape ?? [])
                    let shape = try reshaped(data.shape, to: requested, allowZero: allowZero)
                    return single(ONNXTensor(shape: shape, storage: data.storage))
                }, outputTypes: [.tensor(type)])
        }
    }

    static var flatten: Operator {
        Operator("Flatten", attributes: ["axis"]) { spec in
            let type = try spec.inputType(0)
            let axisAttribute = spec.int("axis", default: 1)
            return CompiledNode(
                kernel: { inputs in
                    let data = try tensorInput(inputs, 0)
                    let rank = data.shape.count
                    let axis = axisAttribute < 0 ? axisAttribute + rank : axisAttribute
                    guard axis >= 0, axis <= rank else {
                        throw ONNXError("Flatten: axis \(axisAttribute) is out of range")
                    }
                    let shape = [data.shape[..<axis].reduce(1, *), data.shape[axis...].reduce(1, *)]
                    return single(ONNXTensor(shape: shape, storage: data.storage))
                }, outputTypes: [.tensor(type)])
        }
    }

    static var squeeze: Operator {
        Operator("Squeeze", attributes: ["axes"]) { spec in
            let type = try spec.inputType(0)
            return CompiledNode(
                kernel: { inputs in
                    let data = try tensorInput(inputs, 0)
                    let given = spec.axes(inputs, fromInputAt: 13)
                    let rank = data.shape.count
                    let axes = try Set(
                        (given ?? data.shape.indices.filter { data.shape[$0] == 1 }).map {
                            try Axes.normalize($0, rank: rank)
                        })
                    for axis in axes where data.shape[axis] != 1 {
                        throw ONNXError("Squeeze: axis \(axis) has size \(data.shape[axis]), not 1")
                    }
                    let shape = data.shape.indices.filter { !axes.contains($0) }.map { data.shape[$0] }
                    return single(ONNXTensor(shape: shape, storage: data.storage))
                }, outputTypes: [.tensor(type)])
        }
    }

    static var unsqueeze: Operator {
        Operator("Unsqueeze", attributes: ["axes"]) { spec in
            let type = try spec.inputType(0)
            return CompiledNode(
                kernel: { inputs in
                    let data = try tensorInput(inputs, 0)
                    guard let given = spec.axes(inputs, fromInputAt: 13) else {
                        throw ONNXError("Unsqueeze: axes are required")
                    }
                    let rank = data.shape.count + given.count
                    let axes = try Set(given.map { try Axes.normalize($0, rank: rank) })
                    guard axes.count == given.count else { throw ONNXError("Unsqueeze: repeated axis") }
                    var source = data.shape.makeIterator()
                    let shape = (0..<rank).map { axes.contains($0) ? 1 : source.next()! }
                    return single(ONNXTensor(shape: shape, storage: data.storage))
                }, outputTypes: [.tensor(type)])
        }
    }

    static var transpose: Operator {
        Operator("Transpose", attributes: ["perm"]) { spec in
            let type = try spec.inputType(0)
            let permAttribute = spec.ints("perm")
            return CompiledNode(
                kernel: { inputs in
                    let data = try tensorInput(inputs, 0)
                    let rank = data.shape.count
                    let perm = permAttribute ?? Array((0..<rank).reversed())
                    guard perm.count == rank, Set(perm) == Set(0..<rank) else {
                        throw ONNXError("Transpose: perm \(perm) is not a permutation of \(rank) axes")
                    }
                    let shape = perm.map { data.shape[$0] }
                    let strides = Axes.strides(data.shape)
                    let positions = Axes.positions(shape: shape, strides: perm.map { strides[$0] })
                    return single(ONNXTensor(shape: shape, storage: data.storage.picking(positions)))
                }, outputTypes: [.tensor(type)])
        }
    }

    static var shapeOf: Operator {
        Operator("Shape", attributes: ["start", "end"]) { spec in
            _ = try spec.inputType(0)
            let start = spec.int("start", default: 0)
            let end = spec.int("end")
            return CompiledNode(
                kernel: { inputs in
                    let data = try tensorInput(inputs, 0)
                    let rank = data.shape.count
                    func clamp(_ v: Int) -> Int { min(max(v < 0 ? v + rank : v, 0), rank) }
                    let (from, to) = (clamp(start), clamp(end ?? rank))
                    let dims = from < to ? data.shape[from..<to].map { Int64($0) } : []
                    return single(ONNXTensor(int64s: dims, shape: [dims.count]))
                }, outputTypes: [.tensor(.int64)])
        }
    }
}
