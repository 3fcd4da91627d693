import JSON

/// libFuzzer entry: a request's `shape` is parsed and its element count
/// computed without overflow traps, for any JSON.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTensorShape(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let value = try? JSONValue.parse(bytes) else { return 0 }
    for candidate in [value, value["shape"] ?? .null] + (value.arrayValue ?? []) {
        if let shape = TensorShape.parse(candidate), let count = TensorShape.elementCount(shape) {
            precondition(count >= 0 && shape.allSatisfy { $0 >= 0 })
        }
    }
    return 0
}
