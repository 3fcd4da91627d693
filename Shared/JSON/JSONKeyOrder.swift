/// The order in which a JSON document lists each object's keys (a
/// `JSONValue` object is a dictionary and forgets it). Paths name an object
/// by the keys and array indices leading to it; `[]` is the document itself.
public struct JSONKeyOrder: Sendable, Equatable {
    let keys: [[String]: [String]]

    /// No recorded order: every object's keys sort by name.
    public static let sorted = JSONKeyOrder(keys: [:])

    /// The order within the object at `prefix`, with paths relative to it.
    public func relative(to prefix: [String]) -> JSONKeyOrder {
        var rebased: [[String]: [String]] = [:]
        for (path, order) in keys where path.starts(with: prefix) {
            rebased[Array(path.dropFirst(prefix.count))] = order
        }
        return JSONKeyOrder(keys: rebased)
    }

    /// The keys of `object` (found at `path`) in document order, or sorted when no order was recorded.
    public func keys(of object: [String: JSONValue], at path: [String]) -> [String] {
        guard let recorded = keys[path], recorded.count == object.count else { return object.keys.sorted() }
        return recorded
    }
}

extension JSONValue {
    /// Parses JSON bytes and also records the order of every object's keys.
    public static func parseKeepingKeyOrder(_ bytes: some Sequence<UInt8>) throws -> (JSONValue, JSONKeyOrder) {
        if let parsed = try bytes.withContiguousStorageIfAvailable({ try JSONParser.parseKeepingKeyOrder($0) }) {
            return parsed
        }
        return try Array(bytes).withUnsafeBufferPointer { try JSONParser.parseKeepingKeyOrder($0) }
    }
}
