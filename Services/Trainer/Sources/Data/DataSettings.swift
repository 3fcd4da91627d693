import Artifacts
import Foundation
import HTTPClient
import ObjectStore
import ServiceKit

/// How data outside git is fetched, read once from the environment: `DATA_MAX_BYTES` (the largest
/// file fetched; default `MAX_DATA_BYTES`, the largest file read, itself 1 GiB by default), `DATA_CACHE_BYTES` (what `WORK_DIR/data-cache` keeps, default 10 GiB),
/// `DATA_LOCAL_ROOTS` (colon-separated directories `file://` data and local DVC remotes may be
/// read under; none by default), and for `s3://` the artifacts' object store or, without one,
/// `S3_ENDPOINT`/`S3_REGION`/`AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` (never logged).
public struct DataSettings: Sendable {
    public var maxBytes: Int64
    public var cacheBytes: Int64
    public var localRoots: [URL]
    public var objectStore: S3Settings?
    /// `DATA_S3_BUCKETS` (comma-separated): the buckets `s3://` data and DVC remotes may be read
    /// from; nil (unset) allows every bucket the credentials can read.
    public var buckets: Set<String>?

    public init(
        maxBytes: Int64 = 1 << 30, cacheBytes: Int64 = 10 << 30, localRoots: [URL] = [], objectStore: S3Settings? = nil,
        buckets: Set<String>? = nil
    ) {
        self.buckets = buckets
        self.maxBytes = maxBytes
        self.cacheBytes = cacheBytes
        self.localRoots = localRoots
        self.objectStore = objectStore
    }

    /// The settings `env` gives; `artifacts` is the artifacts' object store, if they are in one.
    public static func read(_ env: EnvironmentReader, artifacts: S3Settings?) throws -> DataSettings {
        var objectStore = artifacts
        if objectStore == nil, env.string("AWS_ACCESS_KEY_ID") != nil {
            var environment: [String: String] = [:]
            for name in ["S3_ENDPOINT", "S3_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
                environment[name] = env.string(name)
            }
            do {
                objectStore = try S3Settings(environment: environment)
            } catch {
                throw ConfigurationError(variable: error.variable, problem: error.problem)
            }
        }
        return DataSettings(
            maxBytes: Int64(
                try env.int(
                    "DATA_MAX_BYTES", default: try env.int("MAX_DATA_BYTES", default: 1 << 30, range: 1...Int.max),
                    range: 1...Int.max)),
            cacheBytes: Int64(try env.int("DATA_CACHE_BYTES", default: 10 << 30, range: (1 << 20)...Int.max)),
            localRoots: (env.string("DATA_LOCAL_ROOTS") ?? "").split(separator: ":").map {
                URL(fileURLWithPath: String($0), isDirectory: true)
            },
            objectStore: objectStore,
            buckets: env.string("DATA_S3_BUCKETS").map {
                Set($0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
            })
    }

    /// A fetcher with these settings, caching under `cacheDirectory`.
    func fetcher(http: CurlHTTPClient, cacheDirectory: URL) -> DataFetcher {
        DataFetcher(
            http: http, s3: objectStore, localRoots: localRoots, maxBytes: maxBytes,
            cache: DataCache(directory: cacheDirectory, capacity: cacheBytes), buckets: buckets)
    }
}
