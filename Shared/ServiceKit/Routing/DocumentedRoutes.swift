import Hummingbird

/// A resource's routes, each registered together with its description, so a
/// service's `/openapi.json` and `/docs` are generated from what it really
/// serves. Hummingbird's controller shape: a controller builds one of these in
/// `var endpoints`, and `ServiceRouter` mounts it.
public final class DocumentedRoutes {
    /// The routes, as Hummingbird mounts them.
    public let collection = RouteCollection(context: AppRequestContext.self)
    /// What each route does, in registration order.
    public private(set) var descriptions: [APIRoute] = []

    public init() {}

    /// Registers `handler` for `route.method route.path` and records `route`.
    @discardableResult
    public func on(
        _ route: APIRoute,
        use handler: @escaping @Sendable (Request, AppRequestContext) async throws -> Response
    ) -> Self {
        descriptions.append(route)
        collection.on(RouterPath(route.path), method: route.method, use: handler)
        return self
    }

    /// Adds middleware for the routes registered after it.
    @discardableResult
    public func add(middleware: any MiddlewareProtocol<Request, Response, AppRequestContext>) -> Self {
        collection.add(middleware: middleware)
        return self
    }
}
