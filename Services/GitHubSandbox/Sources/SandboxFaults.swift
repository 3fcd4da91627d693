import Foundation
import Synchronization

/// The misbehaviour the sandbox can be told to show on `GET …/pulls`, to
/// test a client against what GitHub (and networks) really do.
public enum SandboxFault: Sendable, Equatable {
    /// Answer with this HTTP status (e.g. 502) and a JSON message.
    case status(Int)
    /// A 200 whose body is not JSON at all.
    case malformed
    /// A 200 whose JSON body is cut in half.
    case truncated
    /// A 502 with an HTML error page, as a proxy in front of GitHub sends.
    case html
    /// Answer after this many milliseconds.
    case slow(milliseconds: Int)
    /// A secondary rate limit: 403 with `Retry-After`.
    case secondaryRateLimit(retryAfter: Int)
}
