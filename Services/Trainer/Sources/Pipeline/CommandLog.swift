/// Streams a command's output into the run's log as it is written, up to a
/// cap: the first `streamedBytes` go in line by line; past them only the raw
/// bytes of the end are kept (a rolling window) and lines are just counted,
/// so a command writing 50 MB costs a byte scan, not a string per line.
/// `finish` logs the last `tailLines` lines and says how much was left out
/// (an error is usually at the end).
struct CommandLog {
    static let streamedBytes = 32 * 1024
    static let tailLines = 50
    /// A longer line is cut here in the log (and a line longer than
    /// `maxPendingBytes` without a newline is logged in pieces).
    static let maxLineCharacters = 500
    static let maxPendingBytes = 4096
    /// How much of the end is kept once the cap is reached.
    static let tailBytes = 64 * 1024

    private var streamed = 0
    /// A stream's line in progress (stdout, stderr), before the cap.
    private var pending: [[UInt8]] = [[], []]
    /// The raw end of the output after the cap (both streams, in arrival order).
    private var tail: [UInt8] = []
    private var linesAfterCap = 0

    private var capped: Bool { streamed >= Self.streamedBytes }

    mutating func append(_ bytes: ArraySlice<UInt8>, stream: Int, to log: (String) -> Void) {
        var rest = bytes
        while !capped, let newline = rest.firstIndex(of: UInt8(ascii: "\n")) {
            pending[stream] += rest[rest.startIndex..<newline]
            emit(pending[stream], to: log)
            pending[stream].removeAll(keepingCapacity: true)
            rest = rest[(newline + 1)...]
        }
        if !capped {
            pending[stream] += rest
            if pending[stream].count >= Self.maxPendingBytes {
                emit(pending[stream], to: log)
                pending[stream].removeAll(keepingCapacity: true)
            }
            return
        }
        if !pending[stream].isEmpty {
            tail += pending[stream]
            pending[stream].removeAll()
        }
        for byte in rest where byte == UInt8(ascii: "\n") { linesAfterCap += 1 }
        tail += rest
        if tail.count > 2 * Self.tailBytes { tail.removeFirst(tail.count - Self.tailBytes) }
    }

    private mutating func emit(_ line: [UInt8], to log: (String) -> Void) {
        var text = String(decoding: line, as: UTF8.self)
        if text.hasSuffix("\r") { text.removeLast() }
        if text.count > Self.maxLineCharacters { text = text.prefix(Self.maxLineCharacters) + " …" }
        streamed += text.utf8.count + 1
        log("| \(text)")
    }

    mutating func finish(to log: (String) -> Void) {
        guard capped else {
            for stream in 0..<2 where !pending[stream].isEmpty { emit(pending[stream], to: log) }
            return
        }
        var lines = tail.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        let shown = lines.suffix(Self.tailLines)
        let total = linesAfterCap + (tail.last == UInt8(ascii: "\n") || tail.isEmpty ? 0 : 1)
        log(
            "(the output passed the log's cap of \(Self.streamedBytes / 1024) KiB: \(max(0, total - shown.count)) lines are not shown; the last \(shown.count) follow)"
        )
        for line in shown {
            var text = String(decoding: line, as: UTF8.self)
            if text.count > Self.maxLineCharacters { text = text.prefix(Self.maxLineCharacters) + " …" }
            log("| \(text)")
        }
    }
}
