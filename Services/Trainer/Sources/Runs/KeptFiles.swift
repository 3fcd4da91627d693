import Synchronization

/// The files a run's training command kept, gathered on the pool thread.
final class KeptFiles: Sendable {
    private let files = Mutex<[RunFile]>([])

    func add(_ new: [RunFile]) { files.withLock { $0 += new } }
    var all: [RunFile] { files.withLock { $0 } }
}
