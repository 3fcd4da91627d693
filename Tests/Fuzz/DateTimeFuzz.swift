/// libFuzzer entry: the RFC 3339 check never traps, and whatever it accepts
/// has its fields within their ranges.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDateTime(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    if DateTimeText.isValid(text) {
        let bytes = Array(text.utf8)
        let month = Int(bytes[5] - 48) * 10 + Int(bytes[6] - 48)
        let hour = Int(bytes[11] - 48) * 10 + Int(bytes[12] - 48)
        precondition((1...12).contains(month) && hour <= 23, "accepted \(text)")
    }
    return 0
}
