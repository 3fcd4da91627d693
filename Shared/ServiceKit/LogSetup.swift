import Foundation
import Logging
import Synchronization

/// Process-wide logging setup for a service.
public enum LogSetup {
    /// Routes all loggers to `JSONLogHandler` at `level` (call once, first).
    public static func bootstrap(level: Logger.Level) {
        LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: level) }
    }
}
