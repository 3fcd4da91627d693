import Foundation
import Learning
import Subprocess
import Synchronization
import Testing

@testable import TrainerService

/// Cancellation that stops the work, not just the waiting.
@Suite("cancellation: processes, deadlines, training loops")
struct CancellationTests {
    /// Whether any process's command line contains `marker` (what `pgrep -f` does), read from
    /// `/proc` directly: a `pgrep` child would wait for a thread of the blocking pool, which the
    /// command under test and the rest of the parallel suite can hold for longer than the limit.
    static func running(_ marker: String) async -> Bool {
        let processes = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return processes.contains { pid in
            guard pid.allSatisfy(\.isNumber), let line = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline")
            else { return false }
            return String(decoding: line.map { $0 == 0 ? UInt8(ascii: " ") : $0 }, as: UTF8.self).contains(marker)
        }
    }

    /// Polls until `marker`'s processes are running (true) or `limit` passes (false):
    /// a loaded machine can take seconds to start a process.
    static func started(_ marker: String, within limit: Duration = .seconds(20)) async throws -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if await running(marker) { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    @Test("cancelling kills the child and everything it started (TERM, then KILL for what ignores TERM)")
    func killsTheProcessGroup() async throws {
        let marker = "conveyor-cancel-\(UUID().uuidString.prefix(8))"
        let script = "trap '' TERM; (exec -a \(marker)-child sleep 60) & exec -a \(marker) sleep 60"
        // Blocking work never runs on the cooperative pool: the pool thread is NIO's.
        let task = Task { try await CommandRunner.run(["bash", "-c", script]) }
        // A loaded machine (the whole suite in parallel on two cores) can take many seconds to start it.
        #expect(try await Self.started("\(marker)-child", within: .seconds(60)), "the children started")
        let cancelled = ContinuousClock.now
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(ContinuousClock.now - cancelled < .seconds(20), "stopped long before the 60 s sleep would end")
        try await Task.sleep(for: .milliseconds(2500))
        #expect(await !Self.running(marker), "no child survives the cancellation")
    }

    @Test("a deadline stops the work it races: a hung command is killed, not left running")
    func deadlineKillsWork() async throws {
        let marker = "conveyor-deadline-\(UUID().uuidString.prefix(8))"
        struct TimedOut: Error {}
        let start = ContinuousClock.now
        await #expect(throws: TimedOut.self) {
            try await withDeadline(.milliseconds(300), timeoutError: TimedOut()) {
                try await CommandRunner.run(["bash", "-c", "exec -a \(marker) sleep 60"])
            }
        }
        #expect(ContinuousClock.now - start < .seconds(30), "stopped long before the 60 s sleep would end")
        #expect(await !Self.running(marker))
    }

    @Test("a forest stops growing trees when progress says stop")
    func trainingStops() throws {
        let rows = (0..<400).map { [Double($0 % 20), Double($0 % 7)] }
        let data = Dataset(rows: rows, target: rows.map { $0[0] * 2 })
        var parameters = RandomForest.Parameters()
        parameters.trees = 400
        parameters.maxDepth = 4
        let calls = CallCount()
        let forest = RandomForest.fit(data, target: .regression, parameters: parameters) { done, _ in
            calls.add()
            return done < 5
        }
        #expect(forest.treeCount < 400, "stopped early with \(forest.treeCount) trees")
        #expect(calls.value < 400)
    }
}

/// A thread-safe counter for progress callbacks.
final class CallCount: Sendable {
    private let count = Mutex(0)
    func add() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}
