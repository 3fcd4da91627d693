import Foundation
import JSON
import Logging
import Postgres

/// What a target run loaded.
public struct TargetSummary: Codable, Sendable, Equatable {
    public var records = 0
    public var upserted = 0
    public var rejected = 0
    /// The first rejections, each naming stream, record key and field.
    public var rejections: [String] = []
    public var batches = 0
    /// Records not written because the stored row of their key was extracted later (they are older).
    public var superseded = 0
}
