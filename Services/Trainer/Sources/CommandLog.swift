/// Streams a command's output into the run's log as it is written, up to a
/// cap: past `streamedBytes` lines are no longer streamed but the last
/// `tailLines` are kept, and `finish` appends them with a line saying how
/// much was left out (an error is usually at the end).
struct CommandLog {
    static let streamedBytes = 32 * 1024
    static let tailLines = 50
    /// A longer line is cut here in the log.
    static let maxLineCharacters = 500

    private var streamed = 0
    private var skipped = 0
    private var tail: [String] = []

    mutating func append(_ line: String, to log: (String) -> Void) {
        let shown = line.count > Self.maxLineCharacters ? line.prefix(Self.maxLineCharacters) + " …" : line[...]
        if streamed < Self.streamedBytes {
            streamed += shown.utf8.count + 1
            log("| \(shown)")
            return
        }
        tail.append("| \(shown)")
        if tail.count > Self.tailLines {
            tail.removeFirst()
            skipped += 1
        }
    }

    func finish(to log: (String) -> Void) {
        guard !tail.isEmpty else { return }
        log(
            "(the output passed the log's cap of \(Self.streamedBytes / 1024) KiB: \(skipped) lines are not shown; the last \(tail.count) follow)"
        )
        for line in tail { log(line) }
    }
}
