import Artifacts
import Foundation
import HTTPClient
import Logging
import Registry
import ServiceKit
import Subprocess

/// Settings of the `trainer` service, read once from the environment.
public struct TrainerConfiguration: Sendable {
    public var logLevel: Logger.Level
    public var databaseURL: String
    /// The local directory versions are written to and read from: `ARTIFACTS_DIR` (or
    /// `ARTIFACTS_URL`'s `file://` path), or with an object store `WORK_DIR/artifacts`.
    public var artifactsDirectory: URL
    public var port: Int
    /// `HOST`, `HTTP_IDLE_TIMEOUT`, `MAX_CONNECTIONS`.
    public var server: HTTPServerSettings
    /// The model repositories followed (`MODELS_FILE`, or `GITHUB_REPOSITORY`/`MODEL_REPO_URL`/
    /// `MODEL_BRANCH` as one): each cloned from its URL, only merges into its branch count.
    public var repositories: [TrackedRepository]
    /// Fallback poll period (NOTIFY is the fast path).
    public var pollInterval: Duration
    /// How long a claimed run stays claimed without a heartbeat.
    public var runLease: Duration
    /// How often rollback rules are checked against new monitoring reports (zero: never).
    public var rollbackCheckInterval: Duration = .seconds(10)
    /// How often the fleet gauges (queue, failures in a row, deployed version) are read from Postgres.
    public var statusInterval: Duration = .seconds(15)
    public var githubToken: String?
    public var adminToken: String?
    /// Receives a JSON POST (Slack-compatible `text`) when a run ends.
    public var notifyWebhookURL: String?
    /// SMTP server for run e-mails (`smtp://host:port`, credentials may be in the URL).
    public var smtpURL: String?
    public var notifyEmailTo: [String]
    public var notifyEmailFrom: String
    /// Longest a run may take before it fails.
    public var runTimeout: Duration
    /// Largest data file a run may load, in bytes (a memory guard).
    public var maxDataBytes: Int
    /// Where checkouts are made (a fresh directory per run).
    public var workDirectory: URL
    /// Address-space limit of a repository's own training command, in bytes.
    public var trainMemoryLimit: Int = 8 << 30
    /// The first repository's `owner/name` (`GITHUB_REPOSITORY` when one is followed).
    public var githubRepository: String? { repositories.first?.repository }
    /// `GITHUB_API_URL`: GitHub's REST root, for preview reports.
    public var githubAPIURL: String = "https://api.github.com"
    /// `PREVIEWS`: train and gate open pull requests' heads (never deployed).
    public var previews: Bool = true
    /// `PREVIEW_FORKS`: preview pull requests from forks too (their training code is untrusted).
    public var previewForks: Bool = false
    /// `NOTIFY_PREVIEWS`: announce previews on the webhook and e-mail like merges.
    public var notifyPreviews: Bool = false
    /// `DASHBOARD_URL`: serving's public address; preview statuses link the run's page there.
    public var dashboardURL: String? = nil
    /// `SANDBOX` (`auto`, `bubblewrap`, `none`): how repositories' code is isolated.
    public var sandbox: Sandbox = .automatic
    /// Where the artifacts live (nil: `artifactsDirectory` is the store, as with `file://`).
    public var artifacts: ArtifactSettings? = nil
    /// How data outside git is fetched (`DATA_CACHE_BYTES`, `DATA_LOCAL_ROOTS`, the object store for `s3://`).
    public var data = DataSettings()

    /// Where the artifacts live, spelled out.
    public var artifactSettings: ArtifactSettings {
        artifacts ?? ArtifactSettings(location: .file(artifactsDirectory), s3: nil, cacheDirectory: artifactsDirectory)
    }

    public static func fromEnvironment(_ env: EnvironmentReader = .init()) throws -> TrainerConfiguration {
        let repositories: [TrackedRepository]
        do {
            repositories = try TrackedRepositories.read(needsName: false) { env.string($0) }
        } catch {
            throw ConfigurationError(variable: error.variable, problem: error.problem)
        }
        let emailTo = (env.string("NOTIFY_EMAIL_TO") ?? "").split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces)
        }.filter { !$0.isEmpty }
        for address in emailTo where !MailMessage.isValidAddress(address) {
            throw ConfigurationError(
                variable: "NOTIFY_EMAIL_TO", problem: "\"\(address)\" is not an e-mail address (no line breaks or <>)")
        }
        let emailFrom = env.string("NOTIFY_EMAIL_FROM") ?? "conveyor@localhost"
        guard MailMessage.isValidAddress(emailFrom) else {
            throw ConfigurationError(
                variable: "NOTIFY_EMAIL_FROM",
                problem: "\"\(emailFrom)\" is not an e-mail address (no line breaks or <>)")
        }
        let workDirectory = URL(
            fileURLWithPath: env.string("WORK_DIR")
                ?? FileManager.default.temporaryDirectory.appendingPathComponent("conveyor-trainer").path)
        let artifacts: ArtifactSettings
        do {
            artifacts = try ArtifactSettings.read(
                { env.string($0) }, defaultCache: workDirectory.appendingPathComponent("artifacts", isDirectory: true))
        } catch {
            throw ConfigurationError(variable: error.variable, problem: error.problem)
        }
        return TrainerConfiguration(
            logLevel: try env.logLevel(),
            databaseURL: try env.required("DATABASE_URL"),
            artifactsDirectory: artifacts.localDirectory,
            port: try env.int("PORT", default: 8001, range: 0...65535),
            server: try HTTPServerSettings.fromEnvironment(env),
            repositories: repositories,
            pollInterval: try env.duration("POLL_INTERVAL", default: .seconds(15), minimum: .milliseconds(10)),
            runLease: try env.duration("RUN_LEASE", default: .seconds(60), minimum: .milliseconds(100)),
            rollbackCheckInterval: try env.duration("ROLLBACK_CHECK_INTERVAL", default: .seconds(10), minimum: .zero),
            statusInterval: try env.duration("STATUS_INTERVAL", default: .seconds(15), minimum: .zero),
            githubToken: env.string("GITHUB_TOKEN"),
            adminToken: env.string("ADMIN_TOKEN"),
            notifyWebhookURL: env.string("NOTIFY_WEBHOOK_URL"),
            smtpURL: env.string("SMTP_URL"),
            notifyEmailTo: emailTo,
            notifyEmailFrom: emailFrom,
            runTimeout: try env.duration("RUN_TIMEOUT", default: .seconds(1800)),
            maxDataBytes: try env.int("MAX_DATA_BYTES", default: 1 << 30, range: 1...Int.max),
            workDirectory: workDirectory,
            trainMemoryLimit: try env.int("TRAIN_MEMORY_LIMIT", default: 8 << 30, range: (64 << 20)...Int.max),
            githubAPIURL: String((env.string("GITHUB_API_URL") ?? "https://api.github.com").trimmingSuffix("/")),
            previews: try env.bool("PREVIEWS", default: true),
            previewForks: try env.bool("PREVIEW_FORKS", default: false),
            notifyPreviews: try env.bool("NOTIFY_PREVIEWS", default: false),
            dashboardURL: env.string("DASHBOARD_URL").map { String($0.trimmingSuffix("/")) },
            sandbox: try env.sandbox(), artifacts: artifacts,
            data: try DataSettings.read(env, artifacts: artifacts.s3))
    }
}

extension String {
    /// The string without trailing `character`s.
    fileprivate func trimmingSuffix(_ character: Character) -> Substring {
        var end = endIndex
        while end > startIndex, self[index(before: end)] == character { end = index(before: end) }
        return self[..<end]
    }
}
