import DurationUnits
import Foundation
import JSON
import Logging
import Migrations
import Postgres
import Registry

/// What one sync did, as `GET /checkout` reports it.
public struct SyncSummary: Codable, Sendable {
    public var pages: Int
    /// Pages GitHub answered 304 Not Modified (free of rate limit).
    public var notModified: Int
    public var recordsFetched: Int
    public var recordsUpserted: Int
    public var mergedFetched: Int
    public var rejected: Int
    public var rejections: [String]
    public var durationSeconds: Double
    public var bookmark: String?

    enum CodingKeys: String, CodingKey {
        case pages
        case notModified = "not_modified"
        case recordsFetched = "records_fetched"
        case recordsUpserted = "records_upserted"
        case mergedFetched = "merged_fetched"
        case rejected, rejections
        case durationSeconds = "duration_seconds"
        case bookmark
    }
}
