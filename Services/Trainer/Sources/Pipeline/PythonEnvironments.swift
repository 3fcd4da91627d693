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
struct PythonEnvironments {
    let root: URL
    /// Address-space limit for venv and pip, as for the training command.
    var memoryLimit: Int? = nil
    var sandbox: Sandbox = .automatic
    static let marker = ".complete"

    /// The environment's directory for these requirements, built if needed;
    /// `log` says whether it was a cache hit and how long a build took.
    func environment(
        requirements: Data, python: String = "python3", timeout: Duration, log: (String) -> Void,
        cancellation: CancellationToken?
    ) throws -> URL {
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        // Sticky and writable by all, like /tmp: the unprivileged user builds in it.
        _ = chmod(root.path, 0o1777)
        let version = try UserCommand(
            arguments: [python, "--version"], directory: root, environment: [:], timeout: .seconds(30), sandbox: sandbox
        ).run(cancellation: cancellation)
        var hasher = SHA256()
        hasher.update(data: requirements)
        hasher.update(data: Data((version.stdout + version.stderr).utf8))
        let key = hasher.finalize().map { String(format: "%02x", $0) }.joined().prefix(24)
        let directory = root.appendingPathComponent("venv-\(key)", isDirectory: true)
        let lock = open(root.appendingPathComponent("venv-\(key).lock").path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard lock >= 0 else { throw TrainingFailure(stage: .environment, reason: "cannot open the environment lock") }
        defer { close(lock) }
        while flock(lock, LOCK_EX) != 0 {
            if errno != EINTR { throw TrainingFailure(stage: .environment, reason: "cannot lock the environment") }
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
            throw TrainingFailure(stage: .environment, reason: "installing train.requirements: \(failure)")
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
        guard
            FileManager.default.createFile(atPath: directory.appendingPathComponent(Self.marker).path, contents: Data())
        else {
            throw TrainingFailure(stage: .environment, reason: "cannot mark \(directory.path) complete")
        }
        let seconds = Double((ContinuousClock.now - start).components.seconds)
        log("python environment \(key) built in \(Int(seconds)) s")
        return directory
    }
}
