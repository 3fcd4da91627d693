import NIOPosix

/// Threads for work that blocks for a long time: waiting on child processes
/// (git, user commands) and training. NIO's shared pool has one thread per
/// core, so two long clones there would queue every other blocking call
/// behind them; a thread that waits in `waitpid` costs only its stack.
public enum BlockingWork {
    /// Enough for the trainer's concurrent runs, their git commands and tests
    /// that start many at once; further work queues.
    public static let threadCount = 32

    private static let pool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: threadCount)
        pool.start()
        return pool
    }()

    /// Runs `body` on a pool thread and returns its result to the caller's
    /// executor. Throws `CancellationError` if the task is cancelled before
    /// `body` starts.
    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await pool.runIfActive(body)
    }
}
