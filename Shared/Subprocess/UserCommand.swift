import Foundation
import Synchronization

/// Runs code from a model repository, which is never trusted: inside the
/// `Sandbox` (namespaces through bubblewrap where they can be made: nothing it
/// starts outlives it, a private `/tmp`, only `writable` paths writable), a
/// scrubbed environment (only what is passed, never the service's secrets),
/// none of the service's descriptors, its own process group killed with TERM
/// then KILL on timeout or cancellation and killed when it exits, a cap on its
/// output, an address-space limit (`RLIMIT_AS`, through the shell's
/// `ulimit -v`) and, when the service runs as root, an unprivileged user
/// (`setpriv` to `nobody`, with no capabilities).
public struct UserCommand: Sendable {
    /// Why the command did not succeed.
    public enum Failure: Error, Equatable, CustomStringConvertible {
        case timedOut(seconds: Double)
        case outputLimit(bytes: Int)
        case exited(status: Int32, output: String)
        case cannotStart(String)

        public var description: String {
            switch self {
            case .timedOut(let seconds): "did not finish within its timeout of \(Int(seconds)) s and was killed"
            case .outputLimit(let bytes): "wrote more than \(bytes) bytes of output and was killed"
            case .exited(let status, let output): "exited with status \(status): \(output)"
            case .cannotStart(let reason): "could not start: \(reason)"
            }
        }
    }

    public var arguments: [String]
    public var directory: URL
    /// The whole environment the command gets (PATH, HOME and LANG are added when missing).
    public var environment: [String: String]
    public var timeout: Duration
    public var outputLimit: Int
    /// Address-space limit in bytes; nil for none.
    public var memoryLimit: Int?
    /// The user to run as; nil to stay the current user. Defaults to `nobody` when running as root.
    public var user: String?
    public var sandbox: Sandbox
    /// The only paths the command may write (besides a private `/tmp` in the sandbox).
    public var writable: [URL]
    /// Paths it reads that may lie under `/tmp` (hidden by the sandbox's own `/tmp` otherwise).
    public var readOnly: [URL]

    public init(
        arguments: [String], directory: URL, environment: [String: String], timeout: Duration,
        outputLimit: Int = 50 << 20, memoryLimit: Int? = nil, user: String? = SandboxUser.name,
        sandbox: Sandbox = .automatic, writable: [URL] = [], readOnly: [URL] = []
    ) {
        self.arguments = arguments
        self.directory = directory
        self.environment = environment
        self.timeout = timeout
        self.outputLimit = outputLimit
        self.memoryLimit = memoryLimit
        self.user = user
        self.sandbox = sandbox
        self.writable = writable
        self.readOnly = readOnly
    }

    /// The command line actually spawned: the sandbox (and setpriv), then the limit, then the command.
    var commandLine: [String] {
        var line: [String] = []
        if let memoryLimit {
            line += ["/bin/sh", "-c", "ulimit -v \(max(1, memoryLimit / 1024)) && exec \"$@\"", "sh"]
        }
        return sandbox.wrap(
            line + arguments, directory: directory, writable: writable, readOnly: [directory] + readOnly, user: user)
    }

    /// The environment the command gets: `environment` plus PATH, HOME and LANG when missing.
    private var completeEnvironment: [String: String] {
        var environment = environment
        environment["PATH"] = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        environment["HOME"] = environment["HOME"] ?? directory.path
        environment["LANG"] = environment["LANG"] ?? "C.UTF-8"
        return environment
    }

    /// Starts the command as a long-lived framed worker (see `FramedProcess`) with the
    /// same isolation, environment and memory limit as `run`; `timeout` and
    /// `outputLimit` do not apply (each exchange has its own timeout, stderr goes to `onStderr`).
    public func startFramed(onStderr: @escaping @Sendable (String) -> Void) throws -> FramedProcess {
        var line = commandLine
        if !sandbox.isIsolated {
            // bubblewrap changes directory itself; without it, a shell does.
            line = ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", directory.path] + line
        }
        do {
            return try FramedProcess(line, environment: completeEnvironment, onStderr: onStderr)
        } catch let error as CommandError {
            throw Failure.cannotStart(error.stderr)
        }
    }

    /// Runs to completion on the calling thread; throws `Failure`, or
    /// `CancellationError` when `cancellation` fires. `onOutput` sees each
    /// chunk of output (stream 0 stdout, 1 stderr) as the command writes it.
    public func run(
        cancellation: CancellationToken? = nil, onOutput: ((_ stream: Int, _ bytes: ArraySlice<UInt8>) -> Void)? = nil
    ) throws
        -> CommandResult
    {
        let environment = completeEnvironment
        let token = CancellationToken()
        let finished = Atomic<Bool>(false)
        let timedOut = Atomic<Bool>(false)
        let deadline = ContinuousClock.now + timeout
        // One watcher per command: the timeout, or the run's own cancellation, stops it.
        Thread.detachNewThread {
            while !finished.load(ordering: .acquiring) {
                if ContinuousClock.now >= deadline {
                    timedOut.store(true, ordering: .releasing)
                    token.cancel()
                    return
                }
                if cancellation?.isCancelled == true {
                    token.cancel()
                    return
                }
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        defer { finished.store(true, ordering: .releasing) }
        let result: CommandResult
        do {
            // bubblewrap changes into the directory itself (it may lie under the sandbox's /tmp).
            result = try ChildProcess.run(
                commandLine, in: sandbox.isIsolated ? nil : directory, environment: environment,
                inheritEnvironment: false, outputLimit: outputLimit, cancellation: token, killGroupOnExit: true,
                onOutput: onOutput)
        } catch is CancellationError {
            if timedOut.load(ordering: .acquiring) {
                throw Failure.timedOut(seconds: Double(timeout.components.seconds))
            }
            throw CancellationError()
        } catch let error as CommandError {
            throw Failure.cannotStart(error.stderr)
        }
        if result.exceededOutputLimit { throw Failure.outputLimit(bytes: outputLimit) }
        guard result.status == 0 else {
            let output = (result.stdout + result.stderr).trimmingCharacters(in: .whitespacesAndNewlines)
            throw Failure.exited(status: result.status, output: String(output.suffix(2000)))
        }
        return result
    }
}
