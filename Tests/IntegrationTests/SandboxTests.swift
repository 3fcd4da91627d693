import Foundation
import Learning
import Subprocess
import Testing

@testable import TrainerService

/// The attacks a hostile `train:` command (or a preview of one) tried: keeping
/// a service's descriptor, leaving a process behind (`setsid`) that holds a
/// lock, a pipe or another run's files, and planting an interpreter in a
/// shared Python environment. Each must fail against the sandbox.
@Suite("Sandbox for repository code", .serialized)
struct SandboxTests {
    private static func scratch() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "conveyor-sandbox-test-\(UUID().uuidString.prefix(8))", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        SandboxUser.own(directory)
        return directory
    }

    private static func command(_ script: String, in directory: URL, timeout: Duration = .seconds(60))
        -> UserCommand
    {
        UserCommand(
            arguments: ["/bin/sh", "-c", script], directory: directory, environment: ["SHARED": directory.path],
            timeout: timeout, writable: [directory])
    }

    @Test("bubblewrap is what `auto` finds here (the test command installs it)")
    func bubblewrapIsAvailable() throws {
        #expect(Sandbox.automatic.isIsolated, "\(Sandbox.automatic)")
        #expect(try Sandbox.detect(setting: "none").isIsolated == false)
        #expect(throws: SandboxUnavailable.self) { try Sandbox.detect(setting: "chroot") }
    }

    @Test("a command inherits no descriptor of the service: a listener opened without close-on-exec stays ours")
    func noInheritedDescriptors() throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        // A listening socket as a service might hold one: not close-on-exec.
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(listener >= 3)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        #expect(bound == 0 && listen(listener, 8) == 0)
        #expect(fcntl(listener, F_GETFD) & FD_CLOEXEC == 0)
        // `ls` lists the shell's descriptors (its own directory handle is in its own table).
        let result = try Self.command("ls /proc/$$/fd", in: directory).run()
        let descriptors = Set(result.stdout.split(separator: "\n").map(String.init))
        #expect(descriptors == ["0", "1", "2"], "the command saw descriptors \(descriptors.sorted())")
    }

    @Test("nothing a command starts outlives it, even a setsid process holding a lock")
    func nothingOutlivesTheCommand() throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let lockPath = directory.appendingPathComponent("held.lock").path
        // The left-behind process takes a lock and says so; the command then exits 0.
        let script = """
            setsid flock -x "$SHARED/held.lock" sh -c 'touch "$SHARED/ready"; exec sleep 600' \
              </dev/null >/dev/null 2>&1 &
            while [ ! -e "$SHARED/ready" ]; do sleep 0.05; done
            """
        _ = try Self.command(script, in: directory).run()
        // The lock is free as soon as the process holding it is gone.
        let descriptor = open(lockPath, O_RDONLY | O_CLOEXEC)
        #expect(descriptor >= 0)
        defer { close(descriptor) }
        let deadline = ContinuousClock.now + .seconds(10)
        var free = false
        while !free && ContinuousClock.now < deadline {
            free = flock(descriptor, LOCK_EX | LOCK_NB) == 0
            if !free { Thread.sleep(forTimeInterval: 0.02) }
        }
        #expect(free, "a process the command left behind still holds \(lockPath)")
    }

    @Test("a left-behind process holding the output pipe does not wedge the caller", .timeLimit(.minutes(1)))
    func pipeHolderDoesNotWedge() throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let start = ContinuousClock.now
        let result = try Self.command("setsid sleep 600 & echo started", in: directory).run()
        #expect(result.stdout.contains("started"))
        #expect(ContinuousClock.now - start < .seconds(10))
    }

    @Test("commands share no /tmp: what one run writes there, the next run cannot see or rewrite")
    func privateTemporaryDirectory() throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let probe = "/tmp/conveyor-sandbox-poison-\(UUID().uuidString.prefix(8))"
        _ = try Self.command("echo poison > \(probe)", in: directory).run()
        #expect(!FileManager.default.fileExists(atPath: probe))
        let second = try Self.command("test -e \(probe) && echo seen || echo absent", in: directory).run()
        #expect(second.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "absent")
    }

    @Test("a command cannot write outside the paths it is given")
    func readOnlyFilesystem() throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let elsewhere = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: elsewhere) }
        let target = elsewhere.appendingPathComponent("planted").path
        #expect(throws: UserCommand.Failure.self) {
            _ = try Self.command("echo planted > \(target)", in: directory).run()
        }
        #expect(!FileManager.default.fileExists(atPath: target))
    }

    @Test("a cached Python environment cannot be changed by the code that uses it (a planted interpreter)")
    func environmentIsReadOnlyToItsUsers() throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: root) }
        let environments = PythonEnvironments(root: root.appendingPathComponent("environments"))
        let environment = try environments.environment(
            requirements: Data(), timeout: .seconds(300), log: { _ in }, cancellation: nil)
        let python = environment.appendingPathComponent("bin/python3").path
        let work = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: work) }
        // What a preview's command did: replace the environment's interpreter.
        let plant = """
            rm -f "\(python)"; printf '#!/bin/sh\\necho planted\\n' > "\(python)" && chmod +x "\(python)"
            """
        #expect(throws: UserCommand.Failure.self) {
            _ = try UserCommand(
                arguments: ["/bin/sh", "-c", plant], directory: work, environment: [:], timeout: .seconds(60),
                writable: [work], readOnly: [environment]
            ).run()
        }
        let check = try ChildProcess.run([python, "-c", "print(6 * 7)"])
        #expect(check.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "42")
        // …and the code that uses it still can.
        let used = try UserCommand(
            arguments: [python, "-c", "print(6 * 7)"], directory: work, environment: [:], timeout: .seconds(60),
            writable: [work], readOnly: [environment]
        ).run()
        #expect(used.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "42")
        // Even without namespaces (the fallback), the sealed environment is not writable by the code's user.
        if let user = SandboxUser.name {
            let attempt = try ChildProcess.run(
                ["setpriv", "--reuid=\(user)", "--regid=nogroup", "--clear-groups", "--", "/bin/sh", "-c", plant])
            #expect(attempt.status != 0)
            let again = try ChildProcess.run([python, "-c", "print(6 * 7)"])
            #expect(again.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "42")
        }
    }
}
