import Crypto
import Foundation
import Subprocess

/// An exclusive `flock` on a file, held while a closure runs. Waiting for it
/// polls, so a cancelled run stops waiting for a lock another run holds.
enum FileLock {
    static func holding<T>(_ path: String, cancellation: CancellationToken, _ body: () throws -> T) throws -> T {
        let descriptor = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw TrainingFailure(stage: .clone, reason: "cannot open lock \(path)") }
        defer { close(descriptor) }
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else {
                throw TrainingFailure(stage: .clone, reason: "cannot lock \(path)")
            }
            if cancellation.isCancelled { throw CancellationError() }
            usleep(50_000)
        }
        defer { flock(descriptor, LOCK_UN) }
        return try body()
    }
}
