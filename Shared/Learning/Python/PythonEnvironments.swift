import Crypto
import Foundation
import Subprocess

/// Virtual environments for repositories' training code, cached by the hash
/// of the requirements file and the Python version: a second run with the
/// same requirements starts at once. Building happens under an exclusive
/// `flock` on the environment's lock file, so two trainers on one host never
/// build the same one at the same time; an environment is used only once its
/// `.complete` marker exists, so a half-built one (a failed install, a killed
/// trainer) is removed and built again, never reused. pip runs as untrusted
/// code (a requirements file can run setup scripts): in the sandbox, with a
/// scrubbed environment, unprivileged user, timeout, output cap, memory limit,
/// writing only the environment and its staging directory. Once built, the
/// environment is sealed (owned by the service's user, nothing writable by
/// others) before it is marked complete: the code that uses it later can never
/// change it (a planted `bin/python3` would run in the next run that shares it).
public struct PythonEnvironments: Sendable {
    public let root: URL
    /// Address-space limit for venv and pip, as for the training command.
    public var memoryLimit: Int?
    public var sandbox: Sandbox
    static let marker = ".complete"

    public init(root: URL, memoryLimit: Int? = nil, sandbox: Sandbox = .automatic) {
        self.root = root
        self.memoryLimit = memoryLimit
        self.sandbox = sandbox
    }

    /// Why an environment could not be had.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let reason: String
        public var description: String { reason }
    }

    /// `requirements` with `pandas` added when no line names it (Python models get DataFrames).
    public static func withPandas(_ requirements: Data) -> Data {
        let text = String(decoding: requirements, as: UTF8.self)
        let names = text.split(whereSeparator: \.isNewline).map { line in
            line.trimmingCharacters(in: .whitespaces).lowercased().prefix {
                $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "."
            }
        }
        if names.contains("pandas") { return requirements }
        return Data(((text.isEmpty || text.hasSuffix("\n") ? text : text + "\n") + "pandas\n").utf8)
    }

    /// The directory of an environment already built for `requirements` (or linked to them
    /// by `link`), without building one; nil when there is none here.
    public func existing(requirements: Data, python: String = "python3") throws -> URL? {
        let directory = root.appendingPathComponent("venv-\(try key(requirements: requirements, python: python))")
        // A linked environment is given as the directory it links to: bubblewrap cannot
        // bind-mount onto a path that is a symbolic link.
        return FileManager.default.fileExists(atPath: directory.appendingPathComponent(Self.marker).path)
            ? directory.resolvingSymlinksInPath() : nil
    }

    /// Makes the environment for `requirements` (a `pip freeze` of `environment`, say) the
    /// already-built `environment`, so a replica on this host that asks for the frozen
    /// requirements starts at once instead of installing them again.
    public func link(requirements: Data, to environment: URL, python: String = "python3") throws {
        let alias = root.appendingPathComponent("venv-\(try key(requirements: requirements, python: python))")
        guard alias.standardizedFileURL.path != environment.standardizedFileURL.path,
            !FileManager.default.fileExists(atPath: alias.path)
        else { return }
        try? FileManager.default.createSymbolicLink(at: alias, withDestinationURL: environment)
    }

    /// The cache key: the requirements and the interpreter's version.
    private func key(requirements: Data, python: String) throws -> String {
        let version = try UserCommand(
            arguments: [python, "--version"], directory: root, environment: [:], timeout: .seconds(30), sandbox: sandbox
        ).run()
        var hasher = SHA256()
        hasher.update(data: requirements)
        hasher.update(data: Data((version.stdout + version.stderr).utf8))
        return String(hasher.finalize().map { String(format: "%02x", $0) }.joined().prefix(24))
    }

    /// The environment's directory for these requirements, built if needed;
    /// `log` says whether it was a cache hit and how long a build took.
    public func environment(
        requirements: Data, python: String = "python3", timeout: Duration, log: (String) -> Void,
        cancellation: CancellationToken?
    ) throws -> URL {
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        // Sticky and writable by all, like /tmp: the unprivileged user builds in it.
        _ = chmod(root.path, 0o1777)
        let key = try key(requirements: requirements, python: python)
        let directory = root.appendingPathComponent("venv-\(key)", isDirectory: true)
        let lock = open(root.appendingPathComponent("venv-\(key).lock").path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard lock >= 0 else { throw Failure(reason: "cannot open the environment lock") }
        defer { close(lock) }
        while flock(lock, LOCK_EX) != 0 {
            if errno != EINTR { throw Failure(reason: "cannot lock the environment") }
        }
        defer { flock(lock, LOCK_UN) }
        if FileManager.default.fileExists(atPath: directory.appendingPathComponent(Self.marker).path) {
            log("python environment \(key) reused (requirements unchanged)")
            return directory
        }
        try? FileManager.default.removeItem(at: directory)
        let start = ContinuousClock.now
        let staging = root.appendingPathComponent("staging-\(key)", isDirectory: true)
        try? FileManager.default.removeItem(at: staging)
        try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for writable in [staging, directory] { SandboxUser.own(writable) }
        let requirementsFile = staging.appendingPathComponent("requirements.txt")
        try requirements.write(to: requirementsFile)
        _ = chmod(requirementsFile.path, 0o644)
        defer { try? FileManager.default.removeItem(at: staging) }
        do {
            for arguments in [
                [python, "-m", "venv", directory.path],
                [
                    directory.appendingPathComponent("bin/pip").path, "install", "--disable-pip-version-check",
                    "--no-input", "-r", requirementsFile.path,
                ],
            ] {
                _ = try UserCommand(
                    arguments: arguments, directory: staging, environment: ["HOME": staging.path],
                    timeout: timeout, memoryLimit: memoryLimit, sandbox: sandbox, writable: [staging, directory]
                ).run(cancellation: cancellation)
            }
            try SandboxUser.seal(directory)
        } catch let failure as UserCommand.Failure {
            try? FileManager.default.removeItem(at: directory)
            throw Failure(reason: "installing the requirements: \(failure)")
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
        guard
            FileManager.default.createFile(atPath: directory.appendingPathComponent(Self.marker).path, contents: Data())
        else {
            throw Failure(reason: "cannot mark \(directory.path) complete")
        }
        let seconds = Double((ContinuousClock.now - start).components.seconds)
        log("python environment \(key) built in \(Int(seconds)) s")
        return directory
    }
}
