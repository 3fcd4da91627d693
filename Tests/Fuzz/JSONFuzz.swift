import JSON

/// libFuzzer entry: the strict JSON parser must return a value or throw for
/// any bytes, and what it returns must be navigable without traps.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let value = try? JSONValue.parse(bytes) {
        _ = value.integerValue
        _ = value["shape"]?.arrayValue?.compactMap(\.integerValue)
        _ = JSONText.quoted(value.stringValue ?? "")
        if let number = value.doubleValue { _ = JSONText.number(number) }
    }
    return 0
}
