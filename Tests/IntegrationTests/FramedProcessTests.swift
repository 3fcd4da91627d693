import Foundation
import Subprocess
import Synchronization
import Testing

/// `FramedProcess` through the sandbox, as Python model workers use it: an
/// echo child answers frames, survives the thread that started it (bubblewrap's
/// `--die-with-parent` follows the spawning thread), and a child that hangs or
/// dies fails the exchange with the reason.
@Suite("Framed child processes")
struct FramedProcessTests {
    /// Echoes each frame back; `b"hang"` sleeps, `b"die"` exits with status 7.
    static let echo = """
        import os, sys, time
        inp, out = sys.stdin.buffer, sys.stdout.buffer
        while True:
            header = inp.read(4)
            if len(header) < 4:
                sys.exit(0)
            body = inp.read(int.from_bytes(header, "big"))
            if body == b"hang":
                time.sleep(3600)
            if body == b"die":
                sys.stderr.write("dying on request\\n"); sys.stderr.flush()
                os._exit(7)
            out.write(header + body); out.flush()
        """

    static func start() throws -> FramedProcess {
        let command = UserCommand(
            arguments: ["/usr/bin/python3", "-c", echo], directory: URL(fileURLWithPath: "/"), environment: [:],
            timeout: .seconds(60), memoryLimit: 1 << 30)
        return try command.startFramed { _ in }
    }

    @Test("a child started from a thread that then exits keeps answering")
    func outlivesTheSpawningThread() async throws {
        let started = Mutex<Result<FramedProcess, any Error>?>(nil)
        // The thread ends only after the child has answered once: by then bubblewrap has armed
        // its parent-death signal, which, armed against this thread, killed the child when the
        // thread ended (see `SpawnThread`; under load this happened by itself, CI at 3d373de).
        let thread = Thread {
            started.withLock {
                $0 = Result {
                    let process = try Self.start()
                    _ = try process.exchange(Array("ready".utf8), timeout: .seconds(30))
                    return process
                }
            }
        }
        thread.start()
        let process = try await eventually(timeout: 30, "the child to start") {
            try started.withLock { try $0?.get() }
        }
        defer { process.stop() }
        // The thread has finished by now (it only started the child); give the kernel's
        // parent-death signal, were it armed on that thread, time to land.
        _ = try await eventually(timeout: 5, "the spawning thread to finish") { thread.isFinished ? true : nil }
        try await Task.sleep(for: .milliseconds(300))
        let answer = try process.exchange(Array("hello".utf8), timeout: .seconds(10))
        #expect(String(decoding: answer, as: UTF8.self) == "hello")
        #expect(!process.hasExited)
    }

    @Test("a hanging child times out; a dying one fails with its status and stderr; both stay failed")
    func hangAndDeath() throws {
        let hanging = try Self.start()
        defer { hanging.stop() }
        #expect(throws: FramedProcess.Failure.timedOut(seconds: 0.5)) {
            try hanging.exchange(Array("hang".utf8), timeout: .milliseconds(500))
        }
        // The stream is out of step after a failure: later exchanges fail at once.
        #expect(throws: FramedProcess.Failure.self) { try hanging.exchange(Array("x".utf8), timeout: .seconds(5)) }

        let dying = try Self.start()
        defer { dying.stop() }
        do {
            _ = try dying.exchange(Array("die".utf8), timeout: .seconds(10))
            Issue.record("the exchange should fail")
        } catch {
            guard case .exited(let status, let stderr) = error else {
                Issue.record("expected exited, got \(error)")
                return
            }
            #expect(status == 7 && stderr.contains("dying on request"), "\(error)")
        }
    }
}
