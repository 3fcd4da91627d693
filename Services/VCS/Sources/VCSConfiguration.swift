import Foundation
import Logging
import Registry
import ServiceKit

/// Settings of the `vcs` service, read once from the environment.
public struct VCSConfiguration: Sendable {
    public var logLevel: Logger.Level
    public var databaseURL: String
    public var port: Int
    /// `HOST`, `HTTP_IDLE_TIMEOUT`, `MAX_CONNECTIONS`.
    public var server: HTTPServerSettings
    /// The repositories synced (`MODELS_FILE`, or `GITHUB_REPOSITORY` alone), each with its own
    /// bookmark and ETag; every one has its `owner/name`.
    public var repositories: [TrackedRepository]
    /// `owner/name` of the first repository (what `vcs tap` reads).
    public var repository: String { repositories[0].repository ?? "" }
    /// REST API root (GitHub, GitHub Enterprise or the sandbox).
    public var apiURL: String
    /// Optional token; sent as `Authorization: Bearer`, never logged.
    public var token: String?
    public var webhookSecret: String?
    public var adminToken: String?
    /// When set, a sync also runs this often, for setups without webhooks.
    public var syncInterval: Duration?
    /// Longest rate-limit wait before a sync fails instead.
    public var maxRateLimitWait: Duration
    /// Attempts per GitHub request on 5xx, timeouts, resets and broken bodies.
    public var retryAttempts: Int
    /// First retry delay, doubled each attempt with jitter.
    public var retryBackoff: Duration

    /// Reads the settings; `needsDatabase: false` (for `vcs tap`) leaves DATABASE_URL optional.
    public static func fromEnvironment(_ env: EnvironmentReader = .init(), needsDatabase: Bool = true) throws
        -> VCSConfiguration
    {
        let repositories: [TrackedRepository]
        do {
            repositories = try TrackedRepositories.read(needsName: true) { env.string($0) }
        } catch {
            throw ConfigurationError(variable: error.variable, problem: error.problem)
        }
        let apiURL = env.string("GITHUB_API_URL") ?? "https://api.github.com"
        guard let scheme = URL(string: apiURL)?.scheme, ["http", "https"].contains(scheme) else {
            throw ConfigurationError(variable: "GITHUB_API_URL", problem: "\"\(apiURL)\" is not an http(s) URL")
        }
        return VCSConfiguration(
            logLevel: try env.logLevel(),
            databaseURL: needsDatabase ? try env.required("DATABASE_URL") : env.string("DATABASE_URL") ?? "",
            port: try env.int("PORT", default: 8080, range: 0...65535),
            server: try HTTPServerSettings.fromEnvironment(env),
            repositories: repositories,
            apiURL: apiURL.hasSuffix("/") ? String(apiURL.dropLast()) : apiURL,
            token: env.string("GITHUB_TOKEN"),
            webhookSecret: env.string("GITHUB_WEBHOOK_SECRET"),
            adminToken: env.string("ADMIN_TOKEN"),
            syncInterval: env.string("SYNC_INTERVAL") == nil
                ? nil : try env.duration("SYNC_INTERVAL", default: .seconds(60), minimum: .milliseconds(100)),
            maxRateLimitWait: try env.duration("MAX_RATE_LIMIT_WAIT", default: .seconds(900), minimum: .zero),
            retryAttempts: try env.int("GITHUB_RETRY_ATTEMPTS", default: 6, range: 1...20),
            retryBackoff: try env.duration(
                "GITHUB_RETRY_BACKOFF", default: .milliseconds(250), minimum: .milliseconds(1)))
    }
}
