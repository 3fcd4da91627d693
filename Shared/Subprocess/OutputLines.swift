/// Cuts a child's output stream into lines as it arrives, so it can be
/// shown while the child still runs. A line longer than `maxLineBytes` is
/// passed on in pieces (a child writing one endless line is still seen).
struct OutputLines {
    static let maxLineBytes = 4096
    private var pending: [UInt8] = []

    /// Appends a chunk and hands every completed line (without its newline) to `line`.
    mutating func append(_ bytes: ArraySlice<UInt8>, _ line: (String) -> Void) {
        for byte in bytes {
            if byte == UInt8(ascii: "\n") {
                line(Self.text(pending))
                pending.removeAll(keepingCapacity: true)
            } else {
                pending.append(byte)
                if pending.count >= Self.maxLineBytes {
                    line(Self.text(pending))
                    pending.removeAll(keepingCapacity: true)
                }
            }
        }
    }

    /// The last line when the stream ended without a newline.
    mutating func finish(_ line: (String) -> Void) {
        if !pending.isEmpty { line(Self.text(pending)) }
        pending.removeAll()
    }

    private static func text(_ bytes: [UInt8]) -> String {
        var text = String(decoding: bytes, as: UTF8.self)
        if text.hasSuffix("\r") { text.removeLast() }
        return text
    }
}
