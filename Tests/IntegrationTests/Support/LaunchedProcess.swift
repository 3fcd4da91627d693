import Foundation
import Subprocess
import Synchronization

/// A service binary started by a test, its output in a log file. `terminate()`
/// sends SIGTERM and waits for a clean exit.
final class LaunchedProcess: Sendable {
    let name: String
    let pid: pid_t
    let logFile: URL
    /// The exit status once the process has been reaped.
    private let exitStatus = Mutex<Int32?>(nil)

    /// The directory holding the built products (next to the test bundle).
    static var binDirectory: URL {
        if let dir = ProcessInfo.processInfo.environment["CONVEYOR_BIN_DIR"] { return URL(fileURLWithPath: dir) }
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    }

    init(
        _ name: String, arguments: [String] = [], environment: [String: String], logDirectory: URL,
        logName: String? = nil, executablePath: String? = nil
    ) throws {
        self.name = logName ?? name
        logFile = logDirectory.appendingPathComponent("\(logName ?? name).log")
        let executable = executablePath ?? Self.binDirectory.appendingPathComponent(name).path
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw HarnessError("\(executable) is missing: run `swift build` first")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logFile.path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "DATABASE_URL")
        env.merge(environment) { $1 }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let status = ChildProcess.spawnLock.withLock { _ in posix_spawn(&pid, executable, &actions, nil, argv, envp) }
        guard status == 0 else { throw HarnessError("cannot start \(name): \(status)") }
        self.pid = pid
    }

    /// Whether the process is still running.
    var isRunning: Bool {
        exitStatus.withLock { $0 } == nil && reap(blocking: false) == nil
    }

    private func reap(blocking: Bool) -> Int32? {
        var status: Int32 = 0
        guard waitpid(pid, &status, blocking ? 0 : WNOHANG) == pid else { return nil }
        let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        exitStatus.withLock { $0 = code }
        return code
    }

    /// SIGTERM, then waits up to `timeout` seconds; returns the exit status (or nil if it had to be killed).
    @discardableResult
    func terminate(timeout: Double = 15) -> Int32? {
        if let finished = exitStatus.withLock({ $0 }) { return finished }
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let code = reap(blocking: false) { return code }
            usleep(50_000)
        }
        kill(pid, SIGKILL)
        _ = reap(blocking: true)
        return nil
    }

    /// The last lines of the log, for failure messages.
    func logTail(_ characters: Int = 3000) -> String {
        let text = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
        return "--- \(name) log ---\n" + String(text.suffix(characters))
    }
}
