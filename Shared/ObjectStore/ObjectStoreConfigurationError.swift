/// An object-store setting that cannot be used: the environment variable and
/// what is wrong with it. It never repeats a value that may hold a secret.
public struct ObjectStoreConfigurationError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The environment variable at fault, e.g. `ARTIFACTS_URL`.
    public let variable: String
    /// What is wrong, in words a person setting the variable can act on.
    public let problem: String

    public init(variable: String, problem: String) {
        self.variable = variable
        self.problem = problem
    }

    public var description: String { "\(variable): \(problem)" }
}
