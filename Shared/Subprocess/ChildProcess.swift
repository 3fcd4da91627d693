import Foundation
import Synchronization

/// Spawns a child with `posix_spawnp`, collects its stdout and stderr and
/// reaps it (after killing what it left in its group, see `ChildExit`). Written by hand because Foundation's `Process`
/// was measured to hang in `waitUntilExit` on this platform when called from
/// concurrency threads; this path has no run loop and no signal handlers.
public enum ChildProcess {
    /// Held while pipes are made and while a child is spawned (see `run`).
    public static let spawnLock = Mutex(())

    /// Runs to completion (blocking the calling thread) and returns the output.
    /// `inheritEnvironment: false` gives the child `environment` alone (for
    /// code we do not trust with our secrets). Past `outputLimit` bytes of
    /// stdout and stderr together the child's process group is killed and the
    /// result says so. `onOutput` sees each chunk of stdout (stream 0) and
    /// stderr (stream 1) as it arrives (for a live log), on the calling thread.
    /// The child gets stdin from /dev/null, the two pipes, and no other
    /// descriptor of ours (a listener, a database connection), whatever their
    /// close-on-exec flags. `killGroupOnExit` kills what the child left in its
    /// process group once it exits (for untrusted code); either way, once the
    /// child has exited its output is read for at most `exitGrace` more, so
    /// something it left behind holding the pipes cannot wedge the caller.
    public static func run(
        _ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:],
        inheritEnvironment: Bool = true, outputLimit: Int? = nil, cancellation: CancellationToken? = nil,
        killGroupOnExit: Bool = false, onOutput: ((_ stream: Int, _ bytes: ArraySlice<UInt8>) -> Void)? = nil
    ) throws -> CommandResult {
        if cancellation?.isCancelled == true { throw CancellationError() }
        precondition(!arguments.isEmpty)
        // posix_spawn_file_actions_addchdir_np is not visible to Swift here: change directory in a shell.
        let arguments =
            directory.map { ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", $0.path] + arguments } ?? arguments
        // dup2 into 1 and 2 clears the close-on-exec flag for the child's own ends.
        let outPipe = try pipeClosedOnExec()
        let errPipe: (read: Int32, write: Int32)
        do { errPipe = try pipeClosedOnExec() } catch {
            close(outPipe.read)
            close(outPipe.write)
            throw error
        }
        let devNull = open("/dev/null", O_RDONLY | O_CLOEXEC)
        defer { close(devNull) }
        let started = Result {
            try spawn(
                arguments, environment: environment, inheritEnvironment: inheritEnvironment,
                descriptors: (devNull, outPipe.write, errPipe.write))
        }
        close(outPipe.write)
        close(errPipe.write)
        defer {
            close(outPipe.read)
            close(errPipe.read)
        }
        let pid = try started.get()
        let registered = cancellation?.register(pid) ?? true
        if !registered { kill(-pid, SIGKILL) }
        let drained = drain(
            outPipe.read, errPipe.read, child: pid, limit: outputLimit ?? Int.max, cancellation: cancellation,
            onOutput: onOutput)
        if drained.overLimit { kill(-pid, SIGKILL) }
        // Not reaped yet: the group's id is still ours to kill (see `ChildExit`).
        let status: Int32 = drained.status ?? ChildExit.exited(pid, block: true) ?? 0
        let cancelled = cancellation?.isCancelled == true
        // What the leader started and left behind in its group goes with it.
        if killGroupOnExit || cancelled { kill(-pid, SIGKILL) }
        cancellation?.unregister(pid)
        ChildExit.reap(pid)
        if cancelled { throw CancellationError() }
        let exitCode = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        var result = CommandResult(
            status: exitCode, stdout: String(decoding: drained.stdout, as: UTF8.self),
            stderr: String(decoding: drained.stderr, as: UTF8.self))
        result.exceededOutputLimit = drained.overLimit
        return result
    }

    /// Spawns `arguments` in a process group of its own with `descriptors` as its 0, 1
    /// and 2 and no other descriptor of ours (whatever their close-on-exec flags);
    /// `inheritEnvironment: false` gives it `environment` alone.
    /// Spawned from `SpawnThread`, so a parent-death signal a child arms (bubblewrap's
    /// `--die-with-parent`) follows the process, never the calling thread's life.
    static func spawn(
        _ arguments: [String], environment: [String: String], inheritEnvironment: Bool,
        descriptors: (input: Int32, output: Int32, error: Int32)
    ) throws -> pid_t {
        let (input, output, error) = descriptors
        return try SpawnThread.run {
            Result {
                try spawnHere(
                    arguments, environment: environment, inheritEnvironment: inheritEnvironment,
                    descriptors: (input, output, error))
            }
        }.get()
    }

    /// `spawn` on the calling thread.
    private static func spawnHere(
        _ arguments: [String], environment: [String: String], inheritEnvironment: Bool,
        descriptors: (input: Int32, output: Int32, error: Int32)
    ) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, descriptors.input, 0)
        posix_spawn_file_actions_adddup2(&actions, descriptors.output, 1)
        posix_spawn_file_actions_adddup2(&actions, descriptors.error, 2)
        guard SpawnDescriptors.closeFrom(3, in: &actions) else {
            throw CommandError(
                command: arguments[0], status: -1,
                stderr: "cannot close inherited descriptors (posix_spawn_file_actions_addclosefrom_np is missing)")
        }
        let merged =
            inheritEnvironment ? ProcessInfo.processInfo.environment.merging(environment) { $1 } : environment
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        // Its own process group, so a cancellation can stop it and everything it started.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)
        var pid: pid_t = 0
        let spawned = spawnLock.withLock { _ in posix_spawnp(&pid, arguments[0], &actions, &attributes, argv, envp) }
        guard spawned == 0 else {
            throw CommandError(
                command: arguments[0], status: -1, stderr: "cannot start: \(String(cString: strerror(spawned)))")
        }
        return pid
    }

    /// Makes a pipe whose two ends are close-on-exec, under `spawnLock` (pipe2 is not
    /// visible to Swift here): a child spawned meanwhile by another thread must not
    /// inherit it, or its reader would never see end-of-file.
    static func pipeClosedOnExec() throws -> (read: Int32, write: Int32) {
        var ends: [Int32] = [-1, -1]
        let made = spawnLock.withLock { _ in
            guard pipe(&ends) == 0 else { return false }
            for fd in ends { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            return true
        }
        guard made else { throw CommandError(command: "pipe", status: -1, stderr: "pipe() failed: errno \(errno)") }
        return (ends[0], ends[1])
    }

    /// How long output is still read after the child exited (what it started may flush).
    static let exitGrace = Duration.seconds(1)

    /// What `drain` read, and the child's wait status when it reaped it.
    private struct Drained {
        var stdout: [UInt8] = []
        var stderr: [UInt8] = []
        var overLimit = false
        var status: Int32? = nil
    }

    /// Reads both pipes until EOF, so a chatty child cannot fill one and
    /// stall; stops at `limit` bytes in all, when `cancellation` fires, or
    /// `exitGrace` after the child exited (then the status is returned).
    private static func drain(
        _ first: Int32, _ second: Int32, child: pid_t, limit: Int, cancellation: CancellationToken?,
        onOutput: ((Int, ArraySlice<UInt8>) -> Void)?
    ) -> Drained {
        var drained = Drained()
        var total = 0
        var open = [true, true]
        let fds = [first, second]
        var buffer = [UInt8](repeating: 0, count: 65536)
        var exitedAt: ContinuousClock.Instant?
        while open[0] || open[1] {
            if cancellation?.isCancelled == true { return drained }
            if exitedAt == nil {
                if let status = ChildExit.exited(child, block: false) {
                    drained.status = status
                    exitedAt = .now
                }
            } else if let exitedAt, ContinuousClock.now - exitedAt > exitGrace {
                return drained
            }
            var polls = fds.enumerated().map {
                pollfd(fd: open[$0.offset] ? $0.element : -1, events: Int16(POLLIN), revents: 0)
            }
            if poll(&polls, 2, 100) < 0 {
                if errno == EINTR { continue }
                break
            }
            for index in 0..<2 where open[index] && polls[index].revents != 0 {
                let count = read(fds[index], &buffer, buffer.count)
                if count > 0 {
                    if index == 0 {
                        drained.stdout.append(contentsOf: buffer[0..<count])
                    } else {
                        drained.stderr.append(contentsOf: buffer[0..<count])
                    }
                    onOutput?(index, buffer[0..<count])
                    total += count
                    if total > limit {
                        drained.overLimit = true
                        return drained
                    }
                } else if count == 0 || errno != EINTR {
                    open[index] = false
                }
            }
        }
        return drained
    }
}
