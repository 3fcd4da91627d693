import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import JSON
import Logging
import ServiceKit

/// Configuration of the GitHub stand-in.
public struct SandboxConfiguration: Sendable {
    public var logLevel: Logger.Level
    public var port: Int
    /// `HOST`, `HTTP_IDLE_TIMEOUT`, `MAX_CONNECTIONS`.
    public var server: HTTPServerSettings
    /// The local git repository whose merges are served as pull requests.
    public var repositoryPath: URL
    public var fullName: String
    public var baseBranch: String
    /// `SANDBOX_ID_BASE`: pull request ids are this plus their number.
    public var idBase: Int = 1_000_000

    public static func fromEnvironment(_ env: EnvironmentReader = .init()) throws -> SandboxConfiguration {
        SandboxConfiguration(
            logLevel: try env.logLevel(),
            port: try env.int("PORT", default: 9090, range: 0...65535),
            server: try HTTPServerSettings.fromEnvironment(env),
            repositoryPath: URL(fileURLWithPath: try env.required("SANDBOX_REPO_PATH")),
            fullName: env.string("GITHUB_REPOSITORY") ?? "conveyor/example-model",
            baseBranch: env.string("MODEL_BRANCH") ?? "main",
            idBase: try env.int("SANDBOX_ID_BASE", default: 1_000_000, range: 0...(1 << 50)))
    }
}
