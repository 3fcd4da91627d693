import DurationUnits
import Foundation
import Synchronization

/// A long-lived child that answers length-prefixed frames (a 4-byte big-endian
/// length, then that many bytes) on its stdin and stdout, one answer per
/// request, in order. Its stderr is read line by line on a thread of its own
/// (for the log) and its last bytes are kept to explain a death. It runs in a
/// process group of its own, with no descriptor of ours but the three pipes,
/// and the group is killed when the process is stopped or released.
///
/// `exchange` blocks the calling thread (never call it on an event loop) and
/// takes one request at a time; after any failure the stream is out of step
/// and every later exchange fails at once: the owner stops it and starts another.
public final class FramedProcess: Sendable {
    /// Why an exchange did not return an answer.
    public enum Failure: Error, Equatable, CustomStringConvertible {
        /// No answer within the time allowed (the process is stopped).
        case timedOut(seconds: Double)
        /// The process ended (or closed its stdout); what it last wrote to stderr.
        case exited(status: Int32?, stderr: String)
        /// The answer was not a frame (a length beyond the limit), or an earlier failure left the stream out of step.
        case broken(String)

        public var description: String {
            switch self {
            case .timedOut(let seconds): "gave no answer within \(seconds) s"
            case .exited(let status, let stderr):
                "exited\(status.map { " with status \($0)" } ?? "")"
                    + (stderr.isEmpty ? "" : ": \(stderr.suffix(1000))")
            case .broken(let why): why
            }
        }
    }

    /// The child's process id (its process group's too).
    public let pid: pid_t
    private let input: Int32
    private let output: Int32
    /// One exchange at a time; `broken` once the stream is out of step.
    private let channel = Mutex(Channel())
    private let errors = StderrTail()
    private let stopped = Atomic<Bool>(false)
    /// The largest answer accepted (a length beyond it means the stream is out of step).
    private let maxFrame: Int

    private struct Channel {
        var broken: String?
    }

    /// What the child wrote last to stderr and how it ended, shared with its reader thread.
    private final class StderrTail: Sendable {
        struct State {
            var bytes: [UInt8] = []
            var status: Int32?
            var exited = false
        }
        let state = Mutex(State())
    }

    /// Starts `arguments` with exactly `environment`; `onStderr` gets each line it writes to stderr.
    public init(
        _ arguments: [String], environment: [String: String], maxFrame: Int = 1 << 28,
        onStderr: @escaping @Sendable (String) -> Void
    ) throws {
        self.maxFrame = maxFrame
        let toChild = try ChildProcess.pipeClosedOnExec()
        var opened = [toChild.read, toChild.write]
        defer {
            // The child's ends; ours stay open in `input` and `output`.
            for fd in opened { close(fd) }
        }
        let fromChild = try ChildProcess.pipeClosedOnExec()
        opened += [fromChild.read, fromChild.write]
        let errorPipe = try ChildProcess.pipeClosedOnExec()
        opened += [errorPipe.read, errorPipe.write]
        pid = try ChildProcess.spawn(
            arguments, environment: environment, inheritEnvironment: false,
            descriptors: (toChild.read, fromChild.write, errorPipe.write))
        input = toChild.write
        output = fromChild.read
        opened = [toChild.read, fromChild.write, errorPipe.write]
        for fd in [input, output] { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        let errorRead = errorPipe.read
        let pid = pid
        let tail = errors
        Thread.detachNewThread {
            Self.readErrors(errorRead, tail: tail, onStderr: onStderr)
            close(errorRead)
            // Not reaped yet: the group's id is still ours to kill (see `ChildExit`).
            let status = ChildExit.exited(pid, block: true) ?? 0
            // What it left in its group goes with it, then the leader is reaped; under the
            // lock `stop` kills under, so no kill can follow the reap.
            tail.state.withLock {
                kill(-pid, SIGKILL)
                ChildExit.reap(pid)
                $0.status = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
                $0.exited = true
            }
        }
    }

    deinit { stop() }

    /// The child's exit status (128 + the signal when killed), once it has exited.
    public var exitStatus: Int32? { errors.state.withLock { $0.status } }

    /// Whether the child has exited (and was reaped).
    public var hasExited: Bool { errors.state.withLock { $0.exited } }

    /// The last bytes the child wrote to stderr.
    public var stderrTail: String { errors.state.withLock { String(decoding: $0.bytes, as: UTF8.self) } }

    /// Kills the child's process group and closes our ends; idempotent.
    public func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        // Once reaped, the group's id may be another's: kill only while the child is not.
        errors.state.withLock { if !$0.exited { kill(-pid, SIGKILL) } }
        close(input)
        close(output)
    }

    /// Sends one request frame and returns the answer's bytes, waiting at most `timeout`.
    public func exchange(_ request: [UInt8], timeout: Duration) throws(Failure) -> [UInt8] {
        let deadline = ContinuousClock.now + timeout
        let seconds = timeout.inSeconds
        let result: Result<[UInt8], Failure> = channel.withLock { channel in
            if let broken = channel.broken { return .failure(.broken(broken)) }
            if stopped.load(ordering: .acquiring) { return .failure(.broken("the process was stopped")) }
            let length = UInt32(request.count)
            let header: [UInt8] = [
                UInt8(length >> 24), UInt8((length >> 16) & 0xff), UInt8((length >> 8) & 0xff), UInt8(length & 0xff),
            ]
            let outcome: Result<[UInt8], Failure>
            do throws(Failure) {
                try write(header + request, deadline: deadline, seconds: seconds)
                let answerHeader = try read(4, deadline: deadline, seconds: seconds)
                let answerLength = answerHeader.reduce(0) { $0 << 8 | Int($1) }
                guard answerLength <= maxFrame else {
                    throw Failure.broken("answered a frame of \(answerLength) bytes, over the \(maxFrame) limit")
                }
                outcome = .success(try read(answerLength, deadline: deadline, seconds: seconds))
            } catch {
                channel.broken = "an earlier exchange failed: \(error)"
                outcome = .failure(error)
            }
            return outcome
        }
        return try result.get()
    }

    private func write(_ bytes: [UInt8], deadline: ContinuousClock.Instant, seconds: Double) throws(Failure) {
        var offset = 0
        while offset < bytes.count {
            try wait(for: input, events: POLLOUT, deadline: deadline, seconds: seconds)
            let written = bytes.withUnsafeBytes { buffer in
                Glibc.write(input, buffer.baseAddress! + offset, bytes.count - offset)
            }
            if written < 0 {
                if errno == EAGAIN || errno == EINTR { continue }
                throw exited()
            }
            offset += written
        }
    }

    private func read(_ count: Int, deadline: ContinuousClock.Instant, seconds: Double) throws(Failure) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let got = bytes.withUnsafeMutableBytes { buffer in
                Glibc.read(output, buffer.baseAddress! + offset, count - offset)
            }
            if got > 0 {
                offset += got
            } else if got == 0 {
                throw exited()
            } else if errno == EAGAIN || errno == EINTR {
                try wait(for: output, events: POLLIN, deadline: deadline, seconds: seconds)
            } else {
                throw exited()
            }
        }
        return bytes
    }

    /// Waits until `fd` is ready for `events`, or throws `timedOut` at `deadline`.
    private func wait(for fd: Int32, events: Int32, deadline: ContinuousClock.Instant, seconds: Double)
        throws(Failure)
    {
        while true {
            let left = deadline - .now
            guard left > .zero else { throw .timedOut(seconds: seconds) }
            let milliseconds = Int32(
                min(
                    60_000, max(1, left.inMilliseconds)
                ))
            var descriptor = pollfd(fd: fd, events: Int16(events), revents: 0)
            let ready = poll(&descriptor, 1, milliseconds)
            if ready > 0 { return }
            if ready < 0 && errno != EINTR { throw .broken("poll failed: errno \(errno)") }
        }
    }

    /// The failure for a closed pipe: the child's status and stderr, once it has been reaped (briefly awaited).
    private func exited() -> Failure {
        let until = ContinuousClock.now + .milliseconds(500)
        while !hasExited && ContinuousClock.now < until { Thread.sleep(forTimeInterval: 0.005) }
        return errors.state.withLock { .exited(status: $0.status, stderr: String(decoding: $0.bytes, as: UTF8.self)) }
    }

    /// Reads stderr until end-of-file, line by line, keeping the last 8 KiB.
    private static func readErrors(_ fd: Int32, tail: StderrTail, onStderr: (String) -> Void) {
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            let count = Glibc.read(fd, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            let chunk = buffer[0..<count]
            tail.state.withLock { state in
                state.bytes.append(contentsOf: chunk)
                if state.bytes.count > 8192 { state.bytes.removeFirst(state.bytes.count - 8192) }
            }
            pending.append(contentsOf: chunk)
            while let newline = pending.firstIndex(of: 10) {
                onStderr(String(decoding: pending[..<newline], as: UTF8.self))
                pending.removeSubrange(...newline)
            }
            if pending.count > 65536 {
                onStderr(String(decoding: pending, as: UTF8.self))
                pending.removeAll()
            }
        }
        if !pending.isEmpty { onStderr(String(decoding: pending, as: UTF8.self)) }
    }
}
