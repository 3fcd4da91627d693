import Dispatch
import Foundation
import Learning
import Logging
import Metrics
import Synchronization

/// The Python worker processes of one live version (`PYTHON_WORKERS` of them),
/// each holding the model once. A request takes an idle worker (or waits for
/// one, in arrival order), and its blocking exchange runs on that worker's own
/// dispatch queue, never on an event loop. A worker that dies or overruns
/// `PYTHON_PREDICT_TIMEOUT` costs the request it was answering (503 or 504),
/// is stopped with its process group, and is replaced in the background, with
/// backoff while replacements keep dying; the others go on answering. When
/// the last reference goes (the version was swapped out and its last request
/// answered), every worker is stopped.
final class PythonWorkerPool: Sendable {
    /// How the pool runs its workers.
    struct Settings: Sendable {
        var workers: Int
        var predictTimeout: Duration
        /// How long a request waits for a worker (all busy, or all being replaced) before a 503.
        var acquireTimeout: Duration
    }

    /// A worker and the queue its exchanges block on.
    private struct Slot: Sendable {
        let index: Int
        let worker: PythonWorker
        let queue: DispatchQueue
    }

    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Slot, any Error>
    }

    private struct State {
        var idle: [Slot] = []
        var waiters: [Waiter] = []
        var nextWaiter: UInt64 = 0
        /// Replacements in a row that died, per slot (for the backoff).
        var failures: [Int: Int] = [:]
        var all: [Int: PythonWorker] = [:]
        var closed = false
    }

    let version: String
    let settings: Settings
    private let launch: PythonWorker.Launch
    private let logger: Logger
    private let state = Mutex(State())
    private let restarts: Counter
    private let timeouts: Counter

    private init(version: String, launch: PythonWorker.Launch, settings: Settings, logger: Logger) {
        self.version = version
        self.launch = launch
        self.settings = settings
        var logger = logger
        logger[metadataKey: "model_version"] = "\(version)"
        self.logger = logger
        restarts = Counter(label: "conveyor_python_worker_restarts_total", dimensions: [("reason", "died")])
        timeouts = Counter(label: "conveyor_python_worker_restarts_total", dimensions: [("reason", "timeout")])
    }

    /// Starts every worker (in parallel, each loading the model) and returns once all answer;
    /// throws (and stops those started) when one cannot load.
    static func start(version: String, launch: PythonWorker.Launch, settings: Settings, logger: Logger) async throws
        -> PythonWorkerPool
    {
        let pool = PythonWorkerPool(version: version, launch: launch, settings: settings, logger: logger)
        do {
            try await withThrowingTaskGroup(of: Slot.self) { group in
                for index in 0..<max(1, settings.workers) {
                    group.addTask { try await pool.startSlot(index) }
                }
                for try await slot in group { pool.state.withLock { $0.idle.append(slot) } }
            }
        } catch {
            pool.close()
            throw error
        }
        return pool
    }

    deinit { close() }

    /// Stops every worker; requests waiting for one get a 503.
    func close() {
        let (workers, waiters) = state.withLock { state -> ([PythonWorker], [Waiter]) in
            state.closed = true
            defer {
                state.all = [:]
                state.idle = []
                state.waiters = []
            }
            return (Array(state.all.values), state.waiters)
        }
        for worker in workers { worker.stop() }
        for waiter in waiters {
            waiter.continuation.resume(throwing: PythonWorkerError.died("the version was retired"))
        }
    }

    /// Process ids of the live workers (for tests and the dashboard).
    var pids: [Int32] { state.withLock { $0.all.values.map(\.pid).sorted() } }

    /// One prediction call on a free worker.
    func predict(columns: [String], rows: String, classes: [String]?, requestID: String) async throws
        -> PythonPrediction
    {
        try await call(requestID: requestID) { worker, timeout throws(PythonWorkerError) in
            try worker.predict(columns: columns, rows: rows, classes: classes, timeout: timeout)
        }
    }

    /// A forecast model's next `horizon` values.
    func forecast(horizon: Int, requestID: String) async throws -> [Double] {
        try await call(requestID: requestID) { worker, timeout throws(PythonWorkerError) in
            try worker.forecast(horizon: horizon, timeout: timeout)
        }
    }

    private func call<T: Sendable>(
        requestID: String, _ body: @escaping @Sendable (PythonWorker, Duration) throws(PythonWorkerError) -> T
    ) async throws -> T {
        let slot = try await acquire()
        let timeout = settings.predictTimeout
        let result: Result<T, PythonWorkerError> = await withCheckedContinuation { continuation in
            slot.queue.async {
                continuation.resume(
                    returning: Result { () throws(PythonWorkerError) -> T in try body(slot.worker, timeout) })
            }
        }
        switch result {
        case .success(let value):
            release(slot)
            return value
        case .failure(let error):
            switch error {
            case .raised(let type, let message, let function, let traceback):
                logger.error(
                    "the model's Python code raised",
                    metadata: [
                        "request_id": "\(requestID)", "function": "\(function ?? "")", "type": "\(type)",
                        "message": "\(message)", "traceback": "\(traceback)",
                    ])
                release(slot)
            case .died(let why):
                restarts.increment()
                logger.error(
                    "a Python worker died answering a request; replacing it",
                    metadata: ["request_id": "\(requestID)", "pid": "\(slot.worker.pid)", "why": "\(why)"])
                replace(slot)
            case .timedOut:
                timeouts.increment()
                logger.error(
                    "a Python worker overran PYTHON_PREDICT_TIMEOUT; killed, replacing it",
                    metadata: ["request_id": "\(requestID)", "pid": "\(slot.worker.pid)"])
                replace(slot)
            case .cannotStart, .badAnswer:
                logger.error("a Python worker answered badly; replacing it", metadata: ["error": "\(error)"])
                replace(slot)
            }
            throw error
        }
    }

    /// An idle worker, or the next one freed (FIFO); 503 after `acquireTimeout`.
    private func acquire() async throws -> Slot {
        if let slot = try state.withLock({ state throws -> Slot? in
            if state.closed { throw PythonWorkerError.died("the version was retired") }
            return state.idle.popLast()
        }) {
            return slot
        }
        let id = state.withLock { state -> UInt64 in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        let timeout = settings.acquireTimeout
        let expiry = Task { [weak self] in
            try await Task.sleep(for: timeout)
            self?.expire(id)
        }
        defer { expiry.cancel() }
        return try await withCheckedThrowingContinuation { continuation in
            let immediate = state.withLock { state -> Slot? in
                if let slot = state.idle.popLast() { return slot }
                state.waiters.append(Waiter(id: id, continuation: continuation))
                return nil
            }
            if let immediate { continuation.resume(returning: immediate) }
        }
    }

    /// Ends a wait that lasted `acquireTimeout`.
    private func expire(_ id: UInt64) {
        let waiter = state.withLock { state -> Waiter? in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiters.remove(at: index)
        }
        waiter?.continuation.resume(throwing: PoolBusy(seconds: settings.acquireTimeout))
    }

    /// Hands `slot` to the oldest waiter, or back to the idle list.
    private func release(_ slot: Slot) {
        let waiter = state.withLock { state -> Waiter? in
            state.failures[slot.index] = 0
            if state.closed { return nil }
            if !state.waiters.isEmpty { return state.waiters.removeFirst() }
            state.idle.append(slot)
            return nil
        }
        waiter?.continuation.resume(returning: slot)
    }

    /// Stops a failed worker and starts its replacement in the background, after a backoff that
    /// doubles (from 100 ms to 10 s) while replacements keep dying.
    private func replace(_ slot: Slot) {
        slot.worker.stop()
        let failures = state.withLock { state -> Int in
            state.all[slot.index] = nil
            state.failures[slot.index, default: 0] += 1
            return state.failures[slot.index]!
        }
        Task { [self] in
            let backoff = Duration.milliseconds(min(10_000, 100 << min(failures - 1, 7)))
            while true {
                if failures > 1 { try? await Task.sleep(for: backoff) }
                if state.withLock({ $0.closed }) { return }
                do {
                    let fresh = try await startSlot(slot.index)
                    logger.notice("a Python worker was replaced", metadata: ["pid": "\(fresh.worker.pid)"])
                    release(fresh)
                    return
                } catch {
                    logger.error(
                        "a replacement Python worker could not start; retrying", metadata: ["error": "\(error)"])
                    try? await Task.sleep(for: backoff)
                }
            }
        }
    }

    /// Starts the worker of slot `index` on a thread of its own (loading blocks).
    private func startSlot(_ index: Int) async throws -> Slot {
        let queue = DispatchQueue(label: "conveyor.python-worker.\(index)")
        let launch = launch
        let logger = logger
        let worker = try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(
                    with: Result { () throws(PythonWorkerError) -> PythonWorker in
                        try PythonWorker(launch) { line in
                            logger.info("python", metadata: ["worker": "\(index)", "stderr": "\(line)"])
                        }
                    })
            }
        }
        let accepted = state.withLock { state -> Bool in
            if state.closed { return false }
            state.all[index] = worker
            return true
        }
        if !accepted {
            worker.stop()
            throw PythonWorkerError.died("the version was retired")
        }
        return Slot(index: index, worker: worker, queue: queue)
    }
}

/// No Python worker came free within the wait allowed.
struct PoolBusy: Error, CustomStringConvertible {
    let seconds: Duration
    var description: String { "no Python worker came free within \(seconds)" }
}
