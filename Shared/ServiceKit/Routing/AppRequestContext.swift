import HTTPTypes
import Hummingbird
import Logging
import Synchronization

/// The request context of every Conveyor route: Hummingbird's core context
/// plus a request id, unique across replicas and restarts, that is put in
/// `logger`'s metadata (`request_id`). A prediction's log lines, its
/// `X-Request-Id` header and its `prediction_log` row share that id.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// This request's id.
    public let requestID: String

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        requestID = RequestIDs.next()
        logger[metadataKey: "request_id"] = .string(requestID)
    }
}

/// Request ids: a random per-process prefix and a counter (cheaper than a UUID
/// per request, and still unique across replicas and restarts).
enum RequestIDs {
    private static let prefix = String(UInt64.random(in: 0...UInt64.max), radix: 36)
    private static let counter = Atomic<Int>(0)

    static func next() -> String {
        "\(prefix)-\(counter.add(1, ordering: .relaxed).newValue)"
    }
}

extension HTTPField.Name {
    /// `X-Request-Id`: the request id of an answer.
    public static let xRequestID = HTTPField.Name("X-Request-Id")!
    /// `X-Model-Version`: the model version that answered.
    public static let xModelVersion = HTTPField.Name("X-Model-Version")!
}
