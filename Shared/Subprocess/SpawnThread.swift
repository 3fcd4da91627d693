import Dispatch
import Foundation
import Synchronization

/// The one thread every child process is spawned from, for the life of the process.
///
/// Linux delivers a parent-death signal when the *thread* that created a child exits, not the
/// process, and bubblewrap's `--die-with-parent` arms SIGKILL that way against whichever thread
/// spawned it: a worker spawned from a thread that later ended (a detached thread, a pool thread
/// retired) was killed with it. Measured with a Python thread that lived 0.5 s after spawning
/// `bwrap --die-with-parent sleep 30`: bwrap died by SIGKILL when the thread ended (CI at
/// `3d373de` lost `FramedProcessTests` to it). Spawning from this thread, which never exits,
/// leaves the signal armed against the process's life only.
enum SpawnThread {
    private static let jobs = Mutex<[@Sendable () -> Void]>([])
    private static let wake = DispatchSemaphore(value: 0)
    /// Starts the thread on first use (a static's initializer runs once, thread-safely).
    private static let started: Bool = {
        let thread = Thread {
            while true {
                wake.wait()
                for job in jobs.withLock({ jobs in
                    defer { jobs = [] }
                    return jobs
                }) { job() }
            }
        }
        thread.name = "conveyor-spawn"
        thread.start()
        return true
    }()

    /// Runs `body` on the spawn thread and waits for its result.
    static func run<Value: Sendable>(_ body: @escaping @Sendable () -> Value) -> Value {
        precondition(started)
        let done = DispatchSemaphore(value: 0)
        let result = Mutex<Value?>(nil)
        jobs.withLock {
            $0.append {
                result.withLock { $0 = body() }
                done.signal()
            }
        }
        wake.signal()
        done.wait()
        return result.withLock { $0! }
    }
}
