import Foundation
import Logging
import Metrics
import Postgres
import ServiceKit
import ServiceLifecycle
import Synchronization

/// One answered prediction, as stored in `prediction_log`.
public struct PredictionLogEntry: Sendable {
    public let loggedAt: Date
    public let requestID: String
    public let modelVersion: String
    /// JSON text of the inputs and the outputs.
    public let inputs: String
    public let outputs: String
    public let latencyMicroseconds: Int64
    /// The prediction token (by name) the request carried, if any.
    public var tokenName: String? = nil
}
