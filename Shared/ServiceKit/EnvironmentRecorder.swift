import Foundation
import Logging
import Synchronization

/// Collects the variable names a configuration reads, so tests can check
/// deployment files against what the executables actually accept.
public final class EnvironmentRecorder: Sendable {
    private let names = Mutex<Set<String>>([])

    public init() {}

    func note(_ name: String) {
        _ = names.withLock { $0.insert(name) }
    }

    /// Every name read so far.
    public var recorded: Set<String> { names.withLock { $0 } }
}
