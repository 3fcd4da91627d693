import Artifacts
import Foundation
import JSON
import Learning
import Logging
import Metrics
import Migrations
import Postgres
import Registry
import ServiceKit
import ServiceLifecycle
import Synchronization

/// What an automatic rollback did, for the notification.
struct RollbackAnnouncement: Encodable, Sendable {
    let text: String
    let fromVersion: String
    let toVersion: String
    let reason: String
    let reportID: Int64

    enum CodingKeys: String, CodingKey {
        case text
        case fromVersion = "from_version"
        case toVersion = "to_version"
        case reason
        case reportID = "report_id"
    }
}
