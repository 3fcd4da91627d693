import Foundation
import HTTPClient
import ObjectStore
import Subprocess

/// Fetches a data file that is not in the repository into the run's directory, through the
/// cache: `https://`/`http://` with the project's libcurl client, `s3://bucket/key` with the
/// object store's endpoint and credentials (`S3_ENDPOINT`, `AWS_ACCESS_KEY_ID`, …), and
/// `file://` only under a directory listed in `DATA_LOCAL_ROOTS` (off by default: a PR could
/// otherwise read any file the trainer can). Bytes are streamed to disk and checked against
/// the digest before anything reads them. Errors name the URL (never a credential: URLs
/// with user-info are refused by the manifest check, and messages carry the URL redacted).
struct DataFetcher: Sendable {
    let http: CurlHTTPClient
    /// The object store's settings, for `s3://` (nil: `s3://` data fails naming the variables).
    let s3: S3Settings?
    /// Directories `file://` URLs and local DVC remotes may read under.
    let localRoots: [URL]
    /// The largest file fetched (`DATA_MAX_BYTES`).
    let maxBytes: Int64
    let cache: DataCache
    /// The buckets `s3://` may read (`DATA_S3_BUCKETS`; nil: any the credentials can).
    var buckets: Set<String>? = nil
    /// Bounds one download whole (a stalled one stops after 30 s without a byte).
    var timeout: Duration = .seconds(3600)

    /// A fetched file: where the run reads it, how big it is, whether this run downloaded it.
    struct Fetched: Sendable {
        let file: URL
        let bytes: Int64
        let downloaded: Bool
    }

    /// Why a fetch failed, naming the manifest key and the URL.
    struct Failure: Error, CustomStringConvertible {
        let key: String
        let url: String
        let problem: String
        var description: String { "\(key): \(url): \(problem)" }
    }

    /// Fetches `url` (verified against `digest`) and links it at `destination`.
    func fetch(_ url: String, digest: DataDigest, key: String, to destination: URL) async throws -> Fetched {
        let shown = CurlTransfer.redacted(url)
        let downloaded = try await cache.link(digest.cacheName, at: destination) { partial in
            try await download(url, shown: shown, key: key, to: partial)
            let size = Self.size(of: partial)
            if size > maxBytes {
                throw Failure(key: key, url: shown, problem: "is \(size) bytes, over DATA_MAX_BYTES (\(maxBytes))")
            }
            // Hashing a large file blocks: on the blocking pool, not the cooperative one.
            let actual = try await BlockingWork.run { try digest.ofFile(partial) }
            guard actual == digest else {
                throw Failure(key: key, url: shown, problem: "has \(actual), expected \(digest)")
            }
        }
        return Fetched(file: destination, bytes: Self.size(of: destination), downloaded: downloaded)
    }

    private func download(_ url: String, shown: String, key: String, to partial: URL) async throws {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased() else {
            throw Failure(key: key, url: shown, problem: "is not a URL")
        }
        do {
            switch scheme {
            case "http", "https":
                let response = try await http.send(
                    CurlRequest(method: .get, url: url, timeout: timeout), signing: nil, downloadTo: partial,
                    maxDownloadBytes: maxBytes)
                guard response.status.kind == .successful else {
                    throw Failure(key: key, url: shown, problem: "HTTP \(response.status.code)")
                }
            case "s3":
                try await downloadObject(components, shown: shown, key: key, to: partial)
            case "file":
                try await BlockingWork.run { try copyLocal(components.path, shown: shown, key: key, to: partial) }
            default:
                throw Failure(key: key, url: shown, problem: "\(scheme):// is not fetched (https, http, s3, file)")
            }
        } catch let failure as Failure {
            throw failure
        } catch let error as CurlError {
            switch error {
            case .tooLarge: throw Failure(key: key, url: shown, problem: "is over DATA_MAX_BYTES (\(maxBytes))")
            case .timeout: throw Failure(key: key, url: shown, problem: "timed out")
            default: throw Failure(key: key, url: shown, problem: "\(error)")
            }
        } catch let error as S3Error {
            throw Failure(key: key, url: shown, problem: "the object store refused it: \(error)")
        }
    }

    private func downloadObject(_ components: URLComponents, shown: String, key: String, to partial: URL)
        async throws
    {
        guard let s3 else {
            throw Failure(
                key: key, url: shown,
                problem: "s3:// data needs the object store's S3_ENDPOINT, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        }
        let bucket = components.host ?? ""
        if let buckets, !buckets.contains(bucket) {
            throw Failure(
                key: key, url: shown,
                problem:
                    "the bucket \"\(bucket)\" is not among DATA_S3_BUCKETS (\(buckets.sorted().joined(separator: ", ")))"
            )
        }
        let client = S3Client(bucket: bucket, settings: s3, http: http)
        let objectKey = String(components.path.dropFirst())
        guard let head = try await client.head(objectKey) else {
            throw Failure(key: key, url: shown, problem: "no such object (HTTP 404)")
        }
        if head.size > maxBytes {
            throw Failure(key: key, url: shown, problem: "is \(head.size) bytes, over DATA_MAX_BYTES (\(maxBytes))")
        }
        try await client.download(objectKey, to: partial)
    }

    /// Copies a local file that lies under one of `localRoots` (symbolic links resolved).
    private func copyLocal(_ path: String, shown: String, key: String, to partial: URL) throws {
        let source = URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath()
        let allowed = localRoots.contains { root in
            source.path.hasPrefix(root.standardizedFileURL.resolvingSymlinksInPath().path + "/")
        }
        guard allowed else {
            throw Failure(
                key: key, url: shown,
                problem:
                    "local files are read only under DATA_LOCAL_ROOTS (\(localRoots.isEmpty ? "unset" : "it does not contain this path"))"
            )
        }
        guard FileManager.default.fileExists(atPath: source.path) else {
            throw Failure(key: key, url: shown, problem: "no such file")
        }
        let size = Self.size(of: source)
        if size > maxBytes {
            throw Failure(key: key, url: shown, problem: "is \(size) bytes, over DATA_MAX_BYTES (\(maxBytes))")
        }
        try FileManager.default.copyItem(at: source, to: partial)
    }

    static func size(of file: URL) -> Int64 {
        ((try? FileManager.default.attributesOfItem(atPath: file.path))?[.size] as? NSNumber)?.int64Value ?? 0
    }
}
