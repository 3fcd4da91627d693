/// NumPy-style multidirectional broadcasting, as ONNX's elementwise operators use.
enum Broadcast {
    /// The shape two shapes broadcast to, or an error naming both.
    static func shape(_ shapes: [Int]...) throws -> [Int] {
        let rank = shapes.map(\.count).max() ?? 0
        var result = [Int](repeating: 1, count: rank)
        for shape in shapes {
            let offset = rank - shape.count
            for (axis, dim) in shape.enumerated() {
                let current = result[offset + axis]
                if current == dim || dim == 1 { continue }
                guard current == 1 else { throw ONNXError("shapes \(shapes) do not broadcast") }
                result[offset + axis] = dim
            }
        }
        return result
    }

    /// For each element of `output`, the offset in a tensor of shape `source` broadcast to it.
    static func offsets(of source: [Int], in output: [Int]) -> [Int] {
        let count = output.reduce(1, *)
        let rank = output.count
        var strides = [Int](repeating: 0, count: rank)
        var step = 1
        for axis in Swift.stride(from: source.count - 1, through: 0, by: -1) {
            let outAxis = axis + rank - source.count
            strides[outAxis] = source[axis] == 1 ? 0 : step
            step *= source[axis]
        }
        var offsets = [Int](repeating: 0, count: count)
        var index = [Int](repeating: 0, count: rank)
        var offset = 0
        for position in 0..<count {
            offsets[position] = offset
            var axis = rank - 1
            while axis >= 0 {
                index[axis] += 1
                offset += strides[axis]
                if index[axis] < output[axis] { break }
                offset -= strides[axis] * index[axis]
                index[axis] = 0
                axis -= 1
            }
        }
        return offsets
    }

    /// `f` applied elementwise over `a` and `b` broadcast together.
    static func map<A, B, R>(_ a: [A], _ aShape: [Int], _ b: [B], _ bShape: [Int], _ f: (A, B) -> R) throws -> (
        [R], [Int]
    ) {
        let shape = try Self.shape(aShape, bShape)
        if aShape == bShape { return (zip(a, b).map(f), shape) }
        if b.count == 1 && shape == aShape {
            let value = b[0]
            return (a.map { f($0, value) }, shape)
        }
        if a.count == 1 && shape == bShape {
            let value = a[0]
            return (b.map { f(value, $0) }, shape)
        }
        let aOffsets = offsets(of: aShape, in: shape)
        let bOffsets = offsets(of: bShape, in: shape)
        return ((0..<aOffsets.count).map { f(a[aOffsets[$0]], b[bOffsets[$0]]) }, shape)
    }
}
