import Dispatch
import Foundation
import Learning
import Logging
import Metrics
import Synchronization

/// The Python worker processes of one live version (`PYTHON_WORKERS` of them),
/// each holding the model once. A request goes to an idle worker at once;
/// when every worker is busy it queues, and a worker that comes free takes
/// the queued prediction requests together, up to `PYTHON_MAX_BATCH` rows, as
/// one `predict` call (adaptive batching: it never waits while a worker is
/// idle, and a request waits only as long as every worker is busy). Each
/// request still gets its own rows' answers; a batched call that raises is
/// retried request by request on the same worker, so only the request whose
/// row fails gets the error. The blocking exchange runs on the worker's own
/// dispatch queue, never on an event loop. A worker that dies or overruns
/// `PYTHON_PREDICT_TIMEOUT` costs the requests it was answering (503 or 504),
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
        /// `PYTHON_MAX_BATCH`: most rows one call coalesces from queued requests (1: no batching).
        var maxBatchRows: Int = 64
    }

    /// A worker and the queue its exchanges block on.
    private struct Slot: Sendable {
        let index: Int
        let worker: PythonWorker
        let queue: DispatchQueue
    }

    /// One request waiting for, or being answered by, a worker.
    private struct Job: Sendable {
        enum Work: Sendable {
            /// Rows (a JSON array of arrays), how many, and the call's columns and classes.
            case predict(rows: String, count: Int, columns: [String], classes: [String]?)
            case forecast(horizon: Int)
        }
        let id: UInt64
        let work: Work
        let requestID: String
        let continuation: CheckedContinuation<Result<PythonPrediction, any Error>, Never>

        var rows: Int {
            if case .predict(_, let count, _, _) = work { return count }
            return 1
        }
        var batchable: Bool {
            if case .predict = work { return true }
            return false
        }
    }

    private struct State {
        var idle: [Slot] = []
        var queue: [Job] = []
        var nextJob: UInt64 = 0
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
    private let batchRows: Recorder

    private init(version: String, launch: PythonWorker.Launch, settings: Settings, logger: Logger) {
        self.version = version
        self.launch = launch
        self.settings = settings
        var logger = logger
        logger[metadataKey: "model_version"] = "\(version)"
        self.logger = logger
        restarts = Counter(label: "conveyor_python_worker_restarts_total", dimensions: [("reason", "died")])
        timeouts = Counter(label: "conveyor_python_worker_restarts_total", dimensions: [("reason", "timeout")])
        batchRows = Recorder(label: "conveyor_python_batch_rows", aggregate: true)
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
        let (workers, queued) = state.withLock { state -> ([PythonWorker], [Job]) in
            state.closed = true
            defer {
                state.all = [:]
                state.idle = []
                state.queue = []
            }
            return (Array(state.all.values), state.queue)
        }
        for worker in workers { worker.stop() }
        for job in queued {
            job.continuation.resume(returning: .failure(PythonWorkerError.died("the version was retired")))
        }
    }

    /// Process ids of the live workers.
    var pids: [Int32] { state.withLock { $0.all.values.map(\.pid).sorted() } }

    /// Predicts `count` rows (a JSON array of arrays) on a free worker, alone or batched with others.
    func predict(columns: [String], rows: String, count: Int, classes: [String]?, requestID: String) async throws
        -> PythonPrediction
    {
        try await submit(.predict(rows: rows, count: count, columns: columns, classes: classes), requestID: requestID)
    }

    /// A forecast model's next `horizon` values.
    func forecast(horizon: Int, requestID: String) async throws -> [Double] {
        try await submit(.forecast(horizon: horizon), requestID: requestID).values
    }

    /// Hands the request to an idle worker, or queues it (503 after `acquireTimeout`).
    private func submit(_ work: Job.Work, requestID: String) async throws -> PythonPrediction {
        let id = state.withLock { state -> UInt64 in
            state.nextJob += 1
            return state.nextJob
        }
        let timeout = settings.acquireTimeout
        let expiry = Task { [weak self] in
            try await Task.sleep(for: timeout)
            self?.expire(id)
        }
        defer { expiry.cancel() }
        let result = await withCheckedContinuation { continuation in
            let job = Job(id: id, work: work, requestID: requestID, continuation: continuation)
            let start = state.withLock { state -> Slot? in
                if state.closed { return nil }
                if let slot = state.idle.popLast() { return slot }
                state.queue.append(job)
                return nil
            }
            if let start {
                run([job], on: start)
            } else if state.withLock({ $0.closed }) {
                continuation.resume(returning: .failure(PythonWorkerError.died("the version was retired")))
            }
        }
        return try result.get()
    }

    /// Ends the wait of a request still queued after `acquireTimeout`.
    private func expire(_ id: UInt64) {
        let job = state.withLock { state -> Job? in
            guard let index = state.queue.firstIndex(where: { $0.id == id }) else { return nil }
            return state.queue.remove(at: index)
        }
        job?.continuation.resume(returning: .failure(PoolBusy(seconds: settings.acquireTimeout)))
    }

    /// Answers `jobs` on `slot`'s queue, then takes the next queued work or goes idle.
    private func run(_ jobs: [Job], on slot: Slot) {
        slot.queue.async { [self] in
            if slot.worker.hasExited {
                // It died while idle: it costs no request; the jobs wait for its replacement
                // (or another worker).
                restarts.increment()
                logger.error(
                    "a Python worker died while idle; replacing it",
                    metadata: ["pid": "\(slot.worker.pid)", "why": "\(slot.worker.exitDescription)"])
                let other = state.withLock { state -> Slot? in
                    state.queue.insert(contentsOf: jobs, at: 0)
                    return state.idle.popLast()
                }
                if let other { resume(other) }
                return replace(slot)
            }
            let healthy = answer(jobs, with: slot)
            guard healthy else { return replace(slot) }
            let next = state.withLock { state -> [Job]? in
                state.failures[slot.index] = 0
                if state.closed { return nil }
                guard !state.queue.isEmpty else {
                    state.idle.append(slot)
                    return nil
                }
                return Self.takeBatch(from: &state.queue, maxRows: settings.maxBatchRows)
            }
            if let next { run(next, on: slot) }
        }
    }

    /// The oldest queued request and, when it is a prediction, the queued predictions after it
    /// that fit in `maxRows` rows in all.
    private static func takeBatch(from queue: inout [Job], maxRows: Int) -> [Job] {
        let first = queue.removeFirst()
        guard first.batchable, maxRows > 1 else { return [first] }
        var batch = [first]
        var rows = first.rows
        var index = 0
        while index < queue.count, rows < maxRows {
            let job = queue[index]
            if job.batchable, rows + job.rows <= maxRows {
                batch.append(job)
                rows += job.rows
                queue.remove(at: index)
            } else {
                index += 1
            }
        }
        return batch
    }

    /// Answers every job (resuming each); false when the worker died or hung doing so.
    private func answer(_ jobs: [Job], with slot: Slot) -> Bool {
        let timeout = settings.predictTimeout
        if jobs.count > 1, case .predict(_, _, let columns, let classes) = jobs[0].work {
            let rows = jobs.map { job -> String in
                guard case .predict(let rows, _, _, _) = job.work else { return "" }
                return String(rows.dropFirst().dropLast())
            }.filter { !$0.isEmpty }
            let total = jobs.reduce(0) { $0 + $1.rows }
            batchRows.record(total)
            do throws(PythonWorkerError) {
                let prediction = try slot.worker.predict(
                    columns: columns, rows: "[" + rows.joined(separator: ",") + "]", classes: classes,
                    timeout: timeout)
                guard prediction.count == total else {
                    throw PythonWorkerError.badAnswer("\(prediction.count) of \(total) rows")
                }
                var offset = 0
                for job in jobs {
                    job.continuation.resume(returning: .success(prediction.slice(offset..<(offset + job.rows))))
                    offset += job.rows
                }
                return true
            } catch .raised {
                // One request's row raised: each answers alone, so only its own gets the error.
                for (index, job) in jobs.enumerated() where !answer([job], with: slot) {
                    // The worker died meanwhile: the rest wait for another one.
                    let rest = jobs[(index + 1)...]
                    state.withLock { $0.queue.insert(contentsOf: rest, at: 0) }
                    return false
                }
                return true
            } catch {
                for job in jobs { job.continuation.resume(returning: .failure(error)) }
                return failed(error, requestIDs: jobs.map(\.requestID), slot: slot)
            }
        }
        guard let job = jobs.first else { return true }
        batchRows.record(job.rows)
        do throws(PythonWorkerError) {
            let prediction: PythonPrediction
            switch job.work {
            case .predict(let rows, _, let columns, let classes):
                prediction = try slot.worker.predict(columns: columns, rows: rows, classes: classes, timeout: timeout)
            case .forecast(let horizon):
                prediction = PythonPrediction(
                    values: try slot.worker.forecast(horizon: horizon, timeout: timeout), labels: [],
                    probabilities: nil)
            }
            job.continuation.resume(returning: .success(prediction))
            return true
        } catch {
            job.continuation.resume(returning: .failure(error))
            return failed(error, requestIDs: [job.requestID], slot: slot)
        }
    }

    /// Logs a failed call; false when the worker must be replaced.
    private func failed(_ error: PythonWorkerError, requestIDs: [String], slot: Slot) -> Bool {
        let requests = requestIDs.joined(separator: ",")
        switch error {
        case .raised(let type, let message, let function, let traceback):
            logger.error(
                "the model's Python code raised",
                metadata: [
                    "request_id": "\(requests)", "function": "\(function ?? "")", "type": "\(type)",
                    "message": "\(message)", "traceback": "\(traceback)",
                ])
            return true
        case .died(let why):
            restarts.increment()
            logger.error(
                "a Python worker died answering a request; replacing it",
                metadata: ["request_id": "\(requests)", "pid": "\(slot.worker.pid)", "why": "\(why)"])
        case .timedOut:
            timeouts.increment()
            logger.error(
                "a Python worker overran PYTHON_PREDICT_TIMEOUT; killed, replacing it",
                metadata: ["request_id": "\(requests)", "pid": "\(slot.worker.pid)"])
        case .cannotStart, .badAnswer:
            logger.error("a Python worker answered badly; replacing it", metadata: ["error": "\(error)"])
        }
        return false
    }

    /// Puts a fresh worker to work: the queued requests, or the idle list.
    private func resume(_ slot: Slot) {
        let next = state.withLock { state -> [Job]? in
            if state.closed { return nil }
            guard !state.queue.isEmpty else {
                state.idle.append(slot)
                return nil
            }
            return Self.takeBatch(from: &state.queue, maxRows: settings.maxBatchRows)
        }
        if let next { run(next, on: slot) }
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
                    resume(fresh)
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
