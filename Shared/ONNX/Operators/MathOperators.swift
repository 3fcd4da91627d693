import Foundation

/// Matrix products, softmax, arg-max and reductions, on float and double tensors.
enum MathOperators {
    static var all: [Operator] {
        [
            matMul, gemm, softmax("Softmax", log: false), softmax("LogSoftmax", log: true), argMax,
            reduce("ReduceSum", initial: 0, combine: +, finish: { value, _ in value }),
            reduce("ReduceMean", initial: 0, combine: +, finish: { value, count in value / Double(count) }),
            reduce(
                "ReduceMax", initial: -.infinity, combine: { Swift.max($0, $1) }, finish: { value, _ in value },
                bools: true),
        ]
    }

    static let real: Set<ONNXElementType> = [.float, .double]

    static func make(_ values: [Double], shape: [Int], like type: ONNXElementType) -> ONNXTensor {
        switch type {
        case .float: ONNXTensor(floats: values.map { Float($0) }, shape: shape)
        case .int64: ONNXTensor(int64s: values.map { Int64($0) }, shape: shape)
        case .int32: ONNXTensor(shape: shape, storage: .int32(values.map { Int32($0) }))
        // A bool reduction over nothing is false (its -inf start).
        case .bool: ONNXTensor(bools: values.map { $0 > 0 }, shape: shape)
        default: ONNXTensor(doubles: values, shape: shape)
        }
    }

    /// `C[m×n] = A[m×k] · B[k×n]` in `T`.
    static func multiply<T: BinaryFloatingPoint>(
        _ a: UnsafeBufferPointer<T>, _ b: UnsafeBufferPointer<T>, m: Int, k: Int, n: Int, into c: inout [T],
        at offset: Int
    ) {
        for i in 0..<m {
            for p in 0..<k {
                let value = a[i * k + p]
                if value == 0 { continue }
                for j in 0..<n { c[offset + i * n + j] += value * b[p * n + j] }
            }
        }
    }

    static var matMul: Operator {
        Operator("MatMul") { spec in
            let type = try spec.require(0, in: [.float, .double, .int64, .int32])
            guard try spec.inputType(1) == type else { throw spec.error("inputs must have one type") }
            return CompiledNode(
                kernel: { inputs in
                    let a = try tensorInput(inputs, 0)
                    let b = try tensorInput(inputs, 1)
                    var aShape = a.shape
                    var bShape = b.shape
                    let aVector = aShape.count == 1
                    let bVector = bShape.count == 1
                    if aVector { aShape = [1] + aShape }
                    if bVector { bShape = bShape + [1] }
                    guard aShape.count >= 2, bShape.count >= 2, aShape.last == bShape[bShape.count - 2] else {
                        throw ONNXError("MatMul: shapes \(a.shape) and \(b.shape) do not multiply")
                    }
                    let (m, k, n) = (aShape[aShape.count - 2], aShape.last!, bShape.last!)
                    let batch = try Broadcast.shape(Array(aShape.dropLast(2)), Array(bShape.dropLast(2)))
                    let batchCount = batch.reduce(1, *)
                    let aBatch = Broadcast.offsets(of: Array(aShape.dropLast(2)), in: batch)
                    let bBatch = Broadcast.offsets(of: Array(bShape.dropLast(2)), in: batch)
                    var shape = batch + [m, n]
                    if aVector { shape.remove(at: shape.count - 2) }
                    if bVector { shape.removeLast() }
                    func run<T: BinaryFloatingPoint>(_ x: [T], _ y: [T]) -> [T] {
                        var c = [T](repeating: 0, count: batchCount * m * n)
                        x.withUnsafeBufferPointer { xp in
                            y.withUnsafeBufferPointer { yp in
                                for batchIndex in 0..<batchCount {
                                    multiply(
                                        UnsafeBufferPointer(rebasing: xp[(aBatch[batchIndex] * m * k)...]),
                                        UnsafeBufferPointer(rebasing: yp[(bBatch[batchIndex] * k * n)...]), m: m, k: k,
                                        n: n, into: &c, at: batchIndex * m * n)
                                }
                            }
                        }
                        return c
                    }
                    switch (a.storage, b.storage) {
                    case (.float(let x), .float(let y)):
                        // Accumulated in double and rounded once: closer to the exact product than any float order.
                        let product = run(x.map(Double.init), y.map(Double.init))
                        return [.tensor(ONNXTensor(floats: product.map { Float($0) }, shape: shape))]
                    case (.double(let x), .double(let y)):
                        return [.tensor(ONNXTensor(doubles: run(x, y), shape: shape))]
                    default:
                        let result = run(a.doubles, b.doubles)
                        return [.tensor(make(result, shape: shape, like: a.elementType))]
                    }
                }, outputTypes: [.tensor(type)])
        }
    }

    static var gemm: Operator {
        Operator("Gemm", attributes: ["alpha", "beta", "transA", "transB", "broadcast"]) { spec in
            let type = try spec.require(0, in: [.float, .double, .int64, .int32])
            let alpha = Double(spec.float("alpha") ?? 1)
            let beta = Double(spec.float("beta") ?? 1)
            let transA = spec.int("transA", default: 0) != 0
            let transB = spec.int("transB", default: 0) != 0
            return CompiledNode(
                kernel: { inputs in
                    let a = try tensorInput(inputs, 0)
                    let b = try tensorInput(inputs, 1)
                    guard a.shape.count == 2, b.shape.count == 2 else {
                        throw ONNXError("Gemm: A and B must be matrices")
                    }
                    let (m, k) = transA ? (a.shape[1], a.shape[0]) : (a.shape[0], a.shape[1])
                    let (kb, n) = transB ? (b.shape[1], b.shape[0]) : (b.shape[0], b.shape[1])
                    guard k == kb else { throw ONNXError("Gemm: shapes \(a.shape) and \(b.shape) do not multiply") }
                    func gemm<T: BinaryFloatingPoint>(_ x: [T], _ y: [T], _ c: [T]?, _ cShape: [Int]) throws -> [T] {
                        var product = [T](repeating: 0, count: m * n)
                        for i in 0..<m {
                            for p in 0..<k {
                                let value = transA ? x[p * m + i] : x[i * k + p]
                                if value == 0 { continue }
                                for j in 0..<n { product[i * n + j] += value * (transB ? y[j * k + p] : y[p * n + j]) }
                            }
                        }
                        let (talpha, tbeta) = (T(alpha), T(beta))
                        if let c {
                            guard (try? Broadcast.shape(cShape, [m, n])) == [m, n] else {
                                throw ONNXError("Gemm: C of shape \(cShape) does not broadcast to [\(m), \(n)]")
                            }
                            let offsets = Broadcast.offsets(of: cShape, in: [m, n])
                            for index in product.indices {
                                product[index] = talpha * product[index] + tbeta * c[offsets[index]]
                            }
                        } else if talpha != 1 {
                            for index in product.indices { product[index] *= talpha }
                        }
                        return product
                    }
                    let c = optionalTensorInput(inputs, 2)
                    switch (a.storage, b.storage) {
                    case (.float(let x), .float(let y)):
                        let cv: [Float]? = c.map {
                            if case .float(let v) = $0.storage { v } else { $0.doubles.map { Float($0) } }
                        }
                        return [.tensor(ONNXTensor(floats: try gemm(x, y, cv, c?.shape ?? []), shape: [m, n]))]
                    default:
                        let result = try gemm(a.doubles, b.doubles, c?.doubles, c?.shape ?? [])
                        return [.tensor(make(result, shape: [m, n], like: a.elementType))]
                    }
                }, outputTypes: [.tensor(type)])
        }
    }

    static func softmax(_ name: String, log: Bool) -> Operator {
        Operator(name, attributes: ["axis"]) { spec in
            let type = try spec.require(0, in: real)
            let legacy = spec.opset < 13
            let axisAttribute = spec.int("axis", default: legacy ? 1 : -1)
            return CompiledNode(
                kernel: { inputs in
                    let x = try tensorInput(inputs, 0)
                    let rank = x.shape.count
                    let axis = try Axes.normalize(axisAttribute, rank: rank)
                    // Before opset 13 the input is seen as a matrix [prod(dims[..<axis]), prod(dims[axis...])].
                    let (outer, length, inner) =
                        legacy
                        ? (x.shape[..<axis].reduce(1, *), x.shape[axis...].reduce(1, *), 1)
                        : (x.shape[..<axis].reduce(1, *), x.shape[axis], x.shape[(axis + 1)...].reduce(1, *))
                    func run<T: BinaryFloatingPoint & ElementaryFunctionsLike & LogLike>(_ v: [T]) -> [T] {
                        var out = v
                        for o in 0..<outer {
                            for i in 0..<inner {
                                let base = o * length * inner + i
                                var high = -T.infinity
                                for j in 0..<length { high = Swift.max(high, v[base + j * inner]) }
                                var sum: T = 0
                                for j in 0..<length { sum += T.expOf(v[base + j * inner] - high) }
                                for j in 0..<length {
                                    let shifted = v[base + j * inner] - high
                                    out[base + j * inner] = log ? shifted - T.logOf(sum) : T.expOf(shifted) / sum
                                }
                            }
                        }
                        return out
                    }
                    switch x.storage {
                    case .float(let v): return [.tensor(ONNXTensor(floats: run(v), shape: x.shape))]
                    case .double(let v): return [.tensor(ONNXTensor(doubles: run(v), shape: x.shape))]
                    default: throw ONNXError("\(name) needs float or double")
                    }
                }, outputTypes: [.tensor(type, shape: spec.inputShape(0))])
        }
    }

    /// The outer, axis and inner sizes of a tensor around `axis`.
    static func split(_ shape: [Int], at axis: Int) -> (Int, Int, Int) {
        (shape[..<axis].reduce(1, *), shape[axis], shape[(axis + 1)...].reduce(1, *))
    }

    static var argMax: Operator {
        Operator("ArgMax", attributes: ["axis", "keepdims", "select_last_index"]) { spec in
            try spec.require(0, in: [.float, .double, .int64, .int32])
            let axisAttribute = spec.int("axis", default: 0)
            let keep = spec.int("keepdims", default: 1) != 0
            let last = spec.int("select_last_index", default: 0) != 0
            return CompiledNode(
                kernel: { inputs in
                    let x = try tensorInput(inputs, 0)
                    let axis = try Axes.normalize(axisAttribute, rank: x.shape.count)
                    let (outer, length, inner) = split(x.shape, at: axis)
                    let v = x.doubles
                    var result = [Int64](repeating: 0, count: outer * inner)
                    for o in 0..<outer {
                        for i in 0..<inner {
                            var best = 0
                            for j in 1..<max(length, 1) {
                                let value = v[(o * length + j) * inner + i]
                                let current = v[(o * length + best) * inner + i]
                                if value > current || (last && value == current) { best = j }
                            }
                            result[o * inner + i] = Int64(best)
                        }
                    }
                    var shape = x.shape
                    if keep { shape[axis] = 1 } else { shape.remove(at: axis) }
                    return [.tensor(ONNXTensor(int64s: result, shape: shape))]
                }, outputTypes: [.tensor(.int64)])
        }
    }

    static func reduce(
        _ name: String, initial: Double, combine: @escaping @Sendable (Double, Double) -> Double,
        finish: @escaping @Sendable (Double, Int) -> Double, bools: Bool = false
    ) -> Operator {
        Operator(name, attributes: ["axes", "keepdims", "noop_with_empty_axes"]) { spec in
            let type = try spec.require(
                0, in: bools ? [.float, .double, .int64, .int32, .bool] : [.float, .double, .int64, .int32])
            // ReduceSum takes axes as an input from opset 13, the others from 18.
            let axesInputOpset = name == "ReduceSum" ? 13 : 18
            let keep = spec.int("keepdims", default: 1) != 0
            let noop = spec.int("noop_with_empty_axes", default: 0) != 0
            return CompiledNode(
                kernel: { inputs in
                    let x = try tensorInput(inputs, 0)
                    let rank = x.shape.count
                    let given = spec.axes(inputs, fromInputAt: axesInputOpset)
                    if (given ?? []).isEmpty && noop { return [.tensor(x)] }
                    let axes = try Set(
                        (given?.isEmpty == false ? given! : Array(0..<rank)).map {
                            try Axes.normalize($0, rank: rank)
                        })
                    let outShape = x.shape.indices.map { axes.contains($0) ? 1 : x.shape[$0] }
                    let outStrides = Axes.strides(outShape)
                    let inStrides = Axes.strides(x.shape)
                    let count = outShape.reduce(1, *)
                    var accumulators = [Double](repeating: initial, count: count)
                    let values = x.doubles
                    for position in values.indices {
                        var target = 0
                        for axis in 0..<rank where !axes.contains(axis) {
                            target += (position / inStrides[axis]) % x.shape[axis] * outStrides[axis]
                        }
                        accumulators[target] = combine(accumulators[target], values[position])
                    }
                    let reducedCount = max(1, axes.reduce(1) { $0 * x.shape[$1] })
                    let result = accumulators.map { finish($0, reducedCount) }
                    let shape = keep ? outShape : x.shape.indices.filter { !axes.contains($0) }.map { x.shape[$0] }
                    return [.tensor(make(result, shape: shape, like: x.elementType))]
                }, outputTypes: [.tensor(type)])
        }
    }
}

extension Float: LogLike { static func logOf(_ x: Float) -> Float { Foundation.log(x) } }
extension Double: LogLike { static func logOf(_ x: Double) -> Double { Foundation.log(x) } }
