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

    /// The body limit of the route `method path` resolves to, if it set one of its own.
    public func bodyLimit(method: HTTPRequest.Method, path: String) -> Int? {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        return routes.first { route in
            let pattern = route.path.split(separator: "/", omittingEmptySubsequences: true)
            return route.method == method && pattern.count == segments.count
                && zip(pattern, segments).allSatisfy { $0.hasPrefix(":") || $0 == $1 }
        }?.maxBodyBytes
    }

    /// The methods registered for the route that `path` resolves to. As in
    /// Hummingbird's router, a literal segment wins over a `:name` parameter,
    /// so `/_sandbox/pulls/generate` is not `/_sandbox/pulls/:number`.
    public func methods(matching path: String) -> [HTTPRequest.Method] {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        var best: [Bool]? = nil
        var methods: [HTTPRequest.Method] = []
        for route in routes {
            let pattern = route.path.split(separator: "/", omittingEmptySubsequences: true)
            guard pattern.count == segments.count,
                zip(pattern, segments).allSatisfy({ $0.hasPrefix(":") || $0 == $1 })
            else { continue }
            let literal = pattern.map { !$0.hasPrefix(":") }
            if let current = best, Self.moreSpecific(current, than: literal) { continue }
            if best != literal {
                best = literal
                methods = []
            }
            if !methods.contains(route.method) { methods.append(route.method) }
        }
        return methods
    }

    /// Whether `lhs` is more specific than `rhs`: the first position where they differ is literal in `lhs`.
    static func moreSpecific(_ lhs: [Bool], than rhs: [Bool]) -> Bool {
        for (left, right) in zip(lhs, rhs) where left != right { return left }
        return false
    }
}
