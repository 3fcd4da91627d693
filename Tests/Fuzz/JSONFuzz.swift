import JSON

/// libFuzzer entry: the strict JSON parser must return a value or throw for
/// any bytes, and what it returns must be navigable without traps; parsing
/// while recording key order must give the same value.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let ordered = try? JSONValue.parseKeepingKeyOrder(bytes)
    if let value = try? JSONValue.parse(bytes) {
        guard let ordered, ordered.0 == value else { fatalError("key-order parsing disagrees with parse") }
        if case .object(let fields) = value { _ = ordered.1.keys(of: fields, at: []) }
        _ = value.integerValue
        _ = value["shape"]?.arrayValue?.compactMap(\.integerValue)
        _ = JSONText.quoted(value.stringValue ?? "")
        if let number = value.doubleValue { _ = JSONText.number(number) }
    } else if ordered != nil {
        fatalError("key-order parsing accepted what parse refused")
    }
    return 0
}
