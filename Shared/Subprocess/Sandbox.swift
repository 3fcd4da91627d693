import Foundation

/// How code from a model repository is isolated from the service that runs it.
///
/// With bubblewrap (`bwrap`, Debian's `bubblewrap`) a command gets its own PID,
/// IPC and UTS namespaces, so everything it starts dies with it (`setsid` or
/// not) and nothing it leaves can hold a pipe or a port once it returns; a
/// private `/tmp`; a read-only view of the filesystem except the paths it is
/// given to write; and, as root, it runs as `nobody` with no capabilities.
/// Where namespaces cannot be made (a container without the privilege) the
/// fallback is explicit: the command's own process group, killed when it
/// returns, and the service says so at start-up and on `/health/ready`.
public struct Sandbox: Sendable, Equatable, CustomStringConvertible {
    /// The isolation in force.
    public enum Isolation: Sendable, Equatable {
        /// Namespaces through the `bwrap` executable at this path.
        case bubblewrap(executable: String)
        /// No namespaces: a process group, killed when the command returns (why, in words).
        case processGroup(reason: String)
    }

    public let isolation: Isolation

    public init(_ isolation: Isolation) {
        self.isolation = isolation
    }

    /// Whether commands run in their own namespaces.
    public var isIsolated: Bool {
        if case .bubblewrap = isolation { return true }
        return false
    }

    public var description: String {
        switch isolation {
        case .bubblewrap: "bubblewrap (own PID namespace, private /tmp, read-only filesystem, no inherited descriptors)"
        case .processGroup(let reason):
            "process group only (no namespaces: \(reason)); processes a command leaves behind are killed with its group"
        }
    }

    /// The sandbox `SANDBOX` asks for: `auto` (the default: bubblewrap when it
    /// works here, else the process-group fallback), `bubblewrap` (refuse to
    /// start without it) or `none` (the process group, by choice).
    public static func detect(setting: String?) throws -> Sandbox {
        switch (setting ?? "auto").lowercased() {
        case "none": return Sandbox(.processGroup(reason: "SANDBOX=none"))
        case "auto":
            return probe()
        case "bubblewrap", "bwrap":
            let sandbox = probe()
            if case .processGroup(let reason) = sandbox.isolation { throw SandboxUnavailable(reason: reason) }
            return sandbox
        default:
            throw SandboxUnavailable(reason: "SANDBOX must be auto, bubblewrap or none, got \(setting ?? "")")
        }
    }

    /// What `auto` finds here, probed once (the default for code that is not told).
    public static let automatic = probe()

    /// Tries `bwrap` with the namespaces commands will get.
    static func probe() -> Sandbox {
        let candidates = ["/usr/bin/bwrap", "/usr/local/bin/bwrap", "/bin/bwrap"]
        guard let executable = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            return Sandbox(.processGroup(reason: "bwrap is not installed (Debian: apt-get install bubblewrap)"))
        }
        let trial = Sandbox(.bubblewrap(executable: executable))
        let line = trial.wrap(
            ["/bin/true"], directory: URL(fileURLWithPath: "/"), writable: [], readOnly: [], user: nil)
        do {
            let result = try ChildProcess.run(line, inheritEnvironment: false, outputLimit: 1 << 16)
            if result.status == 0 { return trial }
            let why = (result.stderr + result.stdout).trimmingCharacters(in: .whitespacesAndNewlines)
            return Sandbox(.processGroup(reason: "bwrap cannot create namespaces here: \(why.prefix(200))"))
        } catch {
            return Sandbox(.processGroup(reason: "bwrap could not start: \(error)"))
        }
    }

    /// The directories the sandbox mounts afresh (empty, writable by all).
    static let privateDirectories = ["/tmp", "/dev/shm"]

    /// The parents of `paths` below a private directory, shallowest first, each once.
    static func parentsInPrivateDirectories(of paths: [URL]) -> [String] {
        var parents: [String] = []
        for path in paths {
            let components = path.standardizedFileURL.pathComponents
            for root in privateDirectories {
                let rootComponents = URL(fileURLWithPath: root).pathComponents
                guard components.count > rootComponents.count + 1,
                    Array(components.prefix(rootComponents.count)) == rootComponents
                else { continue }
                for depth in (rootComponents.count + 1)..<components.count {
                    let parent = "/" + components[1..<depth].joined(separator: "/")
                    if !parents.contains(parent) { parents.append(parent) }
                }
            }
        }
        return parents.sorted { $0.split(separator: "/").count < $1.split(separator: "/").count }
    }

    /// The command line that runs `arguments` in `directory` inside this
    /// sandbox: only `writable` paths (and a private `/tmp`) can be written,
    /// `readOnly` paths are made visible even where they lie under `/tmp`;
    /// `user` is the account to switch to (nil: stay).
    public func wrap(
        _ arguments: [String], directory: URL, writable: [URL], readOnly: [URL], user: String?
    ) -> [String] {
        var line: [String] = []
        if case .bubblewrap(let executable) = isolation {
            line = [
                executable, "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent", "--new-session",
                "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--perms", "1777", "--tmpfs", "/tmp",
                "--perms", "1777", "--tmpfs", "/dev/shm",
            ]
            // A bind under the private /tmp needs its parents made there first: bwrap would make
            // them as root with the host's modes (a 0700 parent the command could not cross).
            for parent in Self.parentsInPrivateDirectories(of: readOnly + writable) {
                line += ["--perms", "0755", "--dir", parent]
            }
            for path in readOnly { line += ["--ro-bind", path.path, path.path] }
            for path in writable { line += ["--bind", path.path, path.path] }
            line += ["--chdir", directory.path]
            // Only to switch to `user`; setpriv then drops every capability for good.
            if user != nil { line += ["--cap-add", "CAP_SETUID,CAP_SETGID,CAP_SETPCAP"] }
            line += ["--"]
        }
        if let user {
            line += [
                "setpriv", "--reuid=\(user)", "--regid=nogroup", "--clear-groups", "--inh-caps=-all",
                "--bounding-set=-all", "--no-new-privs", "--",
            ]
        }
        return line + arguments
    }
}
