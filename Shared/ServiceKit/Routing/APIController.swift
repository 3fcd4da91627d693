import Hummingbird

/// A type that owns one resource's routes (Hummingbird's controller pattern).
public protocol APIController {
    /// The routes with their descriptions.
    var endpoints: DocumentedRoutes { get }
}
