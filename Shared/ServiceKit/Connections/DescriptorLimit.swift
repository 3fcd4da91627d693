import Foundation

/// The process's file-descriptor limit (`RLIMIT_NOFILE`), which bounds how
/// many connections it can hold: each is a descriptor, beside Postgres,
/// log files, artifacts and child processes.
public struct DescriptorLimit: Sendable, Equatable {
    /// The soft limit in force.
    public let soft: Int
    /// The hard limit (the most the soft limit may be raised to).
    public let hard: Int
    /// The soft limit the process started with, when start-up raised it.
    public let raisedFrom: Int?

    /// Descriptors kept for everything but client connections.
    public static let reserved = 128

    public init(soft: Int, hard: Int, raisedFrom: Int? = nil) {
        self.soft = soft
        self.hard = hard
        self.raisedFrom = raisedFrom
    }

    /// The limit after raising the soft limit to the hard one, once per process
    /// (children inherit it: repository code gets the same allowance).
    public static let atStartup = raisingSoftLimit()

    /// The current limits, the soft one raised to the hard one when the system allows.
    static func raisingSoftLimit() -> DescriptorLimit {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else {
            return DescriptorLimit(soft: 1024, hard: 1024)
        }
        let started = Self.clamped(limit.rlim_cur)
        // An unlimited hard limit cannot be the soft one (setrlimit refuses more than fs.nr_open).
        let target = min(limit.rlim_max, rlim_t(1 << 20))
        guard target > limit.rlim_cur else { return DescriptorLimit(soft: started, hard: Self.clamped(limit.rlim_max)) }
        var raised = limit
        raised.rlim_cur = target
        guard setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 else {
            return DescriptorLimit(soft: started, hard: Self.clamped(limit.rlim_max))
        }
        return DescriptorLimit(soft: Self.clamped(target), hard: Self.clamped(limit.rlim_max), raisedFrom: started)
    }

    private static func clamped(_ value: rlim_t) -> Int { value > rlim_t(Int.max) ? Int.max : Int(value) }

    /// The default `MAX_CONNECTIONS` for each of `listeners` ports: the soft
    /// limit less `reserved`, shared between them, between 16 and 2048.
    public func defaultMaxConnections(listeners: Int) -> Int {
        let available = (soft - Self.reserved) / max(1, listeners)
        return min(2048, max(16, available))
    }
}
