import JSON

/// A tensor's shape as the Open Inference Protocol sends it: a non-empty array
/// of non-negative whole numbers, and its element count computed without
/// overflow (a shape such as `[4294967296, 4294967296]` must be an error, not
/// a trap). Kept free of other dependencies so the fuzzer can build it alone.
enum TensorShape {
    /// The dimensions, or nil unless `value` is a non-empty array of whole numbers ≥ 0.
    static func parse(_ value: JSONValue?) -> [Int]? {
        guard let items = value?.arrayValue, !items.isEmpty else { return nil }
        var shape: [Int] = []
        shape.reserveCapacity(items.count)
        for item in items {
            guard let dimension = item.integerValue, dimension >= 0 else { return nil }
            shape.append(Int(dimension))
        }
        return shape
    }

    /// The product of the dimensions, or nil when it overflows `Int`.
    static func elementCount(_ shape: [Int]) -> Int? {
        var count = 1
        for dimension in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            if overflow { return nil }
            count = product
        }
        return count
    }
}
