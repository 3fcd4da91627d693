import Foundation
import HTTPClient
import Learning

/// `trainer data` and `trainer train --repo`: a local checkout's data that is not in git
/// (by URL and hash, or DVC), fetched and verified as the service would, into a cache of the
/// caller's choosing.
public enum LocalDataFetch {
    /// Fetches the data of the checkout's conveyor.yaml into `directory` (through `cache`); the
    /// files by manifest key, and where each came from. Throws `TrainingFailure` naming the problem.
    public static func fetch(
        repository: URL, settings: DataSettings, cache: URL, into directory: URL, log: (String) -> Void
    ) async throws -> (files: [String: URL], lineage: [DataLineage]) {
        let manifestFile = repository.appendingPathComponent("conveyor.yaml")
        guard let yaml = try? String(contentsOf: manifestFile, encoding: .utf8) else {
            throw TrainingFailure(stage: .manifest, reason: "conveyor.yaml not found at the repository root")
        }
        let manifest: Manifest
        do {
            manifest = try Manifest.parse(yaml)
        } catch {
            throw TrainingFailure(stage: .manifest, reason: "\(error)")
        }
        let http = CurlHTTPClient(concurrency: 2)
        defer { Task { await http.shutdown() } }
        return try await RunData(fetcher: settings.fetcher(http: http, cacheDirectory: cache)).fetch(
            manifest, repository: repository.standardizedFileURL.resolvingSymlinksInPath(), into: directory, log: log)
    }
}
