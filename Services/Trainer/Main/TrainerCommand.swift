import ArgumentParser
import Artifacts
import Foundation
import HTTPClient
import Hummingbird
import Learning
import Logging
import ObjectStore
import ServiceKit
import TrainerService

/// `trainer`: trains, gates and deploys the model of each merged pull request.
@main
struct TrainerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trainer",
        abstract: "Train, evaluate, gate and deploy models from merged pull requests.",
        subcommands: [Serve.self, Train.self, FetchData.self],
        defaultSubcommand: Serve.self)

    /// The service (default).
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the trainer service.",
            discussion: """
                Environment: DATABASE_URL, ARTIFACTS_DIR required; MODEL_REPO_URL (or GITHUB_REPOSITORY), \
                MODEL_BRANCH (default main), POLL_INTERVAL (default 15s), GITHUB_TOKEN, ADMIN_TOKEN, \
                WORK_DIR, PORT (default 8001), LOG_LEVEL.
                """)

        @Option(help: "HTTP port (overrides PORT).") var port: Int?

        func run() async throws {
            let env = EnvironmentReader()
            var configuration = try TrainerConfiguration.fromEnvironment(env)
            if let port { configuration.port = port }
            ServiceHost.bootstrap(service: "trainer", logLevel: configuration.logLevel)
            let app = try await TrainerApp.buildApplication(
                configuration: configuration, logger: Logger(label: "trainer"))
            try await app.runService()
        }
    }

    /// The data scientist's dry run on a local checkout.
    struct Train: AsyncParsableCommand {
        @Sendable static func drawProgress(done: Int, total: Int) -> Bool {
            let width = 30
            let filled = width * done / max(1, total)
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            FileHandle.standardError.write(Data("\r  training [\(bar)] \(done)/\(total)".utf8))
            if done == total { FileHandle.standardError.write(Data("\n".utf8)) }
            return true
        }

        static let configuration = CommandConfiguration(
            abstract: "Run the training pipeline on a local checkout and report whether it would deploy.")

        @Option(help: "Path of the model repository checkout.") var repo: String = "."
        @Option(
            help:
                "Also write the artifact under this directory, or publish it to s3://bucket/prefix (S3_ENDPOINT, S3_REGION, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY from the environment)."
        )
        var output: String?
        @Option(help: "The version the artifact records (its directory name under --output).")
        var version: String = "local"

        @Option(help: "Where data fetched by URL or from DVC is cached (default: ~/.cache/conveyor/data).")
        var dataCache: String?

        func run() async throws {
            // Data outside git, fetched and verified as the service does.
            let fetchedDirectory = FileManager.default.temporaryDirectory.appendingPathComponent(
                "conveyor-train-data-\(UUID().uuidString.prefix(8))", isDirectory: true)
            defer { try? FileManager.default.removeItem(at: fetchedDirectory) }
            let fetched = try await LocalDataFetch.fetch(
                repository: URL(fileURLWithPath: repo),
                settings: DataSettings.read(EnvironmentReader(), artifacts: nil),
                cache: FetchData.cacheDirectory(dataCache), into: fetchedDirectory, log: { print($0) })
            let pipeline = TrainingPipeline(repository: URL(fileURLWithPath: repo), fetchedData: fetched.files)
            defer { try? FileManager.default.removeItem(at: pipeline.scratch) }
            // A progress bar on a terminal (trees or boosting rounds), silent otherwise.
            let progress: TrainingProgress? = isatty(STDERR_FILENO) != 0 ? Self.drawProgress : nil
            guard !version.isEmpty, !version.contains("/"), !version.hasPrefix(".") else {
                throw ValidationError("--version must be a name without '/' or a leading '.'")
            }
            let outcome = try pipeline.run(version: version, baseline: nil, log: { print($0) }, progress: progress)
            if let output {
                try await Self.write(outcome, to: output)
            }
            print(outcome.passed ? "verdict: would deploy" : "verdict: would be REJECTED")
            if !outcome.passed { throw ExitCode(1) }
        }

        /// Writes the artifact into a directory, or publishes it to an object store (every
        /// file, then the completion record) through a local copy.
        static func write(_ outcome: TrainingOutcome, to output: String) async throws {
            let location: ArtifactLocation
            do {
                location = try ArtifactLocation(parsing: output, variable: "--output")
            } catch {
                throw ValidationError("\(error)")
            }
            guard case .s3 = location else {
                let written = try ArtifactStore.write(
                    outcome.artifact, manifestYAML: outcome.manifestYAML, root: URL(fileURLWithPath: output))
                print("artifact: \(written.path.path) (sha256 \(written.sha256))")
                return
            }
            let settings = try S3Settings()
            let staging = FileManager.default.temporaryDirectory.appendingPathComponent(
                "conveyor-train-output-\(UUID().uuidString.prefix(8))")
            defer { try? FileManager.default.removeItem(at: staging) }
            let http = CurlHTTPClient(concurrency: 4)
            let storage = ArtifactStorage(location: location, cacheDirectory: staging, settings: settings, http: http)
            let written = try ArtifactStore.write(outcome.artifact, manifestYAML: outcome.manifestYAML, root: staging)
            let path = "\(outcome.artifact.name)/\(outcome.artifact.version)"
            do {
                try await storage.publish(path)
            } catch {
                await http.shutdown()
                throw error
            }
            await http.shutdown()
            print("artifact: \(location)/\(path) (sha256 \(written.sha256))")
        }
    }

    /// Fetches and verifies a checkout's data that is not in git, as the service would.
    struct FetchData: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "data",
            abstract: "Fetch and verify the data conveyor.yaml names by URL and hash, or through DVC.",
            discussion: """
                Prints where each file came from, its hash and size, and how long it took. Environment: \
                DATA_MAX_BYTES, DATA_LOCAL_ROOTS, and S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY for s3://.
                """)

        @Option(help: "Path of the model repository checkout.") var repo: String = "."
        @Option(help: "Where fetched data is cached (default: ~/.cache/conveyor/data).") var dataCache: String?

        static func cacheDirectory(_ option: String?) -> URL {
            if let option { return URL(fileURLWithPath: option, isDirectory: true) }
            let base =
                ProcessInfo.processInfo.environment["XDG_CACHE_HOME"].map { URL(fileURLWithPath: $0) }
                ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache")
            return base.appendingPathComponent("conveyor/data", isDirectory: true)
        }

        func run() async throws {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
                "conveyor-data-\(UUID().uuidString.prefix(8))", isDirectory: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let start = ContinuousClock.now
            let fetched = try await LocalDataFetch.fetch(
                repository: URL(fileURLWithPath: repo),
                settings: DataSettings.read(EnvironmentReader(), artifacts: nil),
                cache: Self.cacheDirectory(dataCache), into: directory, log: { print($0) })
            let elapsed = ContinuousClock.now - start
            if fetched.lineage.isEmpty { print("all data is in the repository") }
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            print("fetched \(fetched.lineage.count) file(s) in \(String(format: "%.3f", seconds)) s")
        }
    }
}
