import HTTPTypes
import Hummingbird
import Logging

/// The request context of every Conveyor route: Hummingbird's core context
/// plus the request's id, which is in `logger`'s metadata (`hb.request.id`,
/// set by Hummingbird for every request: 32 hex digits, a random per-process
/// half and a counter, so unique across replicas and restarts). A
/// prediction's log lines, its `X-Request-Id` header and its `prediction_log`
/// row share that id. Reusing Hummingbird's id rather than adding a second
/// one keeps a metadata copy off every request (measured on `/predict`).
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// This request's id.
    public let requestID: String

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        requestID = source.logger[metadataKey: Self.requestIDKey]?.description ?? RequestID().description
    }

    /// The logger metadata key of the request id.
    public static let requestIDKey = "hb.request.id"
}

extension HTTPField.Name {
    /// `X-Request-Id`: the request id of an answer.
    public static let xRequestID = HTTPField.Name("X-Request-Id")!
    /// `X-Model-Version`: the model version that answered.
    public static let xModelVersion = HTTPField.Name("X-Model-Version")!
}
