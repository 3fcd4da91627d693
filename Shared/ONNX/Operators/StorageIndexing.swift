extension ONNXTensor.Storage {
    /// The elements at `indices`, in that order.
    func picking(_ indices: [Int]) -> ONNXTensor.Storage {
        switch self {
        case .float(let v): .float(indices.map { v[$0] })
        case .double(let v): .double(indices.map { v[$0] })
        case .int64(let v): .int64(indices.map { v[$0] })
        case .int32(let v): .int32(indices.map { v[$0] })
        case .bool(let v): .bool(indices.map { v[$0] })
        case .string(let v): .string(indices.map { v[$0] })
        }
    }

    /// Concatenation along an axis: for each of `outer` rows, block `i` of
    /// storage `i` in turn (`blocks[i]` elements each).
    static func interleaved(_ parts: [ONNXTensor.Storage], blocks: [Int], outer: Int) throws -> ONNXTensor.Storage {
        func weave<T>(_ extract: (ONNXTensor.Storage) -> [T]?) throws -> [T] {
            let arrays = try parts.map { part in
                guard let values = extract(part) else { throw ONNXError("inputs differ in element type") }
                return values
            }
            var result: [T] = []
            result.reserveCapacity(blocks.reduce(0, +) * outer)
            for row in 0..<outer {
                for (values, block) in zip(arrays, blocks) {
                    result.append(contentsOf: values[(row * block)..<((row + 1) * block)])
                }
            }
            return result
        }
        switch parts.first {
        case .float: return .float(try weave { if case .float(let v) = $0 { v } else { nil } })
        case .double: return .double(try weave { if case .double(let v) = $0 { v } else { nil } })
        case .int64: return .int64(try weave { if case .int64(let v) = $0 { v } else { nil } })
        case .int32: return .int32(try weave { if case .int32(let v) = $0 { v } else { nil } })
        case .bool: return .bool(try weave { if case .bool(let v) = $0 { v } else { nil } })
        case .string: return .string(try weave { if case .string(let v) = $0 { v } else { nil } })
        case nil: throw ONNXError("nothing to join")
        }
    }
}

/// Axis arithmetic shared by the shape operators.
enum Axes {
    /// `axis` (negative counts from the end) checked against `rank`.
    static func normalize(_ axis: Int, rank: Int) throws -> Int {
        let value = axis < 0 ? axis + rank : axis
        guard value >= 0, value < Swift.max(rank, 1) || (rank == 0 && value == 0) else {
            throw ONNXError("axis \(axis) is out of range for rank \(rank)")
        }
        return value
    }

    /// Row-major strides of a shape.
    static func strides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var step = 1
        for axis in Swift.stride(from: shape.count - 1, through: 0, by: -1) {
            strides[axis] = step
            step *= shape[axis]
        }
        return strides
    }

    /// For each element of a tensor of `shape` in row-major order, the source offset
    /// `base + Σ index[axis] · strides[axis]` (a strided view: slices, transposes).
    static func positions(shape: [Int], base: Int = 0, strides: [Int]) -> [Int] {
        let rank = shape.count
        let count = shape.reduce(1, *)
        var positions = [Int](repeating: 0, count: count)
        var index = [Int](repeating: 0, count: rank)
        var offset = base
        for position in 0..<count {
            positions[position] = offset
            // The next index, odometer-style, moving the offset with it.
            var axis = rank - 1
            while axis >= 0 {
                index[axis] += 1
                offset += strides[axis]
                if index[axis] < shape[axis] { break }
                offset -= index[axis] * strides[axis]
                index[axis] = 0
                axis -= 1
            }
        }
        return positions
    }
}
