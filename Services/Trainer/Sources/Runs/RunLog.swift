import Synchronization

/// A run's log while it runs: the pipeline (on a pool thread) appends, the
/// executor copies it into `training_runs.log` every second so
/// `GET /runs/{id}` shows the training command's output as it is written.
final class RunLog: Sendable {
    private struct State {
        var lines: [String]
        /// Bumped on every append; the flusher writes only when it moved.
        var revision = 0
    }
    private let state: Mutex<State>

    init(_ first: String) { state = Mutex(State(lines: [first])) }

    func append(_ line: String) {
        state.withLock {
            $0.lines.append(line)
            $0.revision += 1
        }
    }

    var lines: [String] { state.withLock { $0.lines } }

    /// The lines and their revision, read together.
    var snapshot: (lines: [String], revision: Int) { state.withLock { ($0.lines, $0.revision) } }
}
