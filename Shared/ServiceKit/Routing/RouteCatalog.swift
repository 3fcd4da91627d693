import HTTPTypes
import Synchronization

/// Every route a service registered, for its API document and for telling a
/// wrong method (405) from an unknown path (404). Filled once while the
/// router is built, read per request.
public final class RouteCatalog: Sendable {
    private let stored = Mutex<[APIRoute]>([])

    public init() {}

    /// The routes, in registration order.
    public var routes: [APIRoute] { stored.withLock { $0 } }

    func add(_ routes: [APIRoute]) {
        stored.withLock { $0 += routes }
    }

    /// The methods registered for paths that `path` matches (`:name` matches any one segment).
    public func methods(matching path: String) -> [HTTPRequest.Method] {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        var methods: [HTTPRequest.Method] = []
        for route in routes {
            let pattern = route.path.split(separator: "/", omittingEmptySubsequences: true)
            guard pattern.count == segments.count else { continue }
            let matches = zip(pattern, segments).allSatisfy { $0.hasPrefix(":") || $0 == $1 }
            if matches, !methods.contains(route.method) { methods.append(route.method) }
        }
        return methods
    }
}
