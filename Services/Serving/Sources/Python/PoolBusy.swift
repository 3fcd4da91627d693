import Dispatch
import Foundation
import Learning
import Logging
import Metrics
import Synchronization

/// No Python worker came free within the wait allowed.
struct PoolBusy: Error, CustomStringConvertible {
    let seconds: Duration
    var description: String { "no Python worker came free within \(seconds)" }
}
