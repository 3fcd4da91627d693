import Artifacts
import DurationUnits
import Foundation
import Learning
import Logging
import Metrics
import Postgres
import ServiceKit
import ServiceLifecycle
import Synchronization

/// What one report's transaction read.
struct WindowCounts: Sendable {
    let bins: [BinCount]
    let labelled: [PostgresRow]
    let labels: [PostgresRow]
}
