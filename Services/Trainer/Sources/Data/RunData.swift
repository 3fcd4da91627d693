import Foundation
import HTTPClient
import Learning
import Registry

/// Fetches a run's data that is not in git before the pipeline reads it: every `data:` file
/// given by URL and hash, and every path that is absent from the checkout but tracked by DVC
/// (`<path>.dvc`, or a `dvc.lock` output) from the repository's default DVC remote, each
/// verified against its hash. Paths committed in git are left to the pipeline.
struct RunData {
    let fetcher: DataFetcher

    /// The fetched files by manifest key (linked into `directory`), and their lineage.
    func fetch(_ manifest: Manifest, repository: URL, into directory: URL, log: (String) -> Void) async throws
        -> (files: [String: URL], lineage: [DataLineage])
    {
        var files: [String: URL] = [:]
        var lineage: [DataLineage] = []
        for (key, file) in manifest.data.files {
            let destination = directory.appendingPathComponent(key)
            if let url = file.url, let sha256 = file.sha256 {
                let fetched = try await fetch(url, digest: .sha256(sha256.lowercased()), key: key, to: destination)
                files[key] = fetched.file
                lineage.append(
                    DataLineage(
                        key: key, source: "url", path: nil, url: CurlTransfer.redacted(url),
                        sha256: sha256.lowercased(),
                        md5: nil, bytes: fetched.bytes, downloaded: fetched.downloaded))
            } else if let path = file.path,
                !FileManager.default.fileExists(atPath: repository.appendingPathComponent(path).path)
            {
                let found: (pointer: DVCPointer, remote: DVCRemote)?
                do {
                    found = try DVCPointer.find(path, in: repository).map {
                        ($0, try DVCRemote.defaultRemote(in: repository))
                    }
                } catch {
                    throw TrainingFailure(stage: .data, reason: "\(key): \(path): \(error)")
                }
                // Not DVC's either: the pipeline reports the missing file.
                guard let (pointer, remote) = found else { continue }
                if let size = pointer.size, size > fetcher.maxBytes {
                    throw TrainingFailure(
                        stage: .data,
                        reason:
                            "\(key): \(path) is \(size) bytes (\(pointer.recordedIn)), over DATA_MAX_BYTES (\(fetcher.maxBytes))"
                    )
                }
                let url = remote.objectURL(pointer)
                let fetched: DataFetcher.Fetched
                do {
                    fetched = try await fetcher.fetch(url, digest: .md5(pointer.md5), key: key, to: destination)
                } catch let failure as DataFetcher.Failure {
                    throw TrainingFailure(
                        stage: .data,
                        reason:
                            "\(key): \(path) (md5 \(pointer.md5), from \(pointer.recordedIn)) on the DVC remote \"\(remote.name)\" at \(failure.url): \(failure.problem)"
                    )
                }
                files[key] = fetched.file
                lineage.append(
                    DataLineage(
                        key: key, source: "dvc", path: path, url: CurlTransfer.redacted(url), sha256: nil,
                        md5: pointer.md5, bytes: fetched.bytes, downloaded: fetched.downloaded))
            } else {
                if let path = file.path,
                    FileManager.default.fileExists(atPath: repository.appendingPathComponent(path + ".dvc").path)
                {
                    log("data \(key): \(path) is in git; its .dvc file is not used")
                }
                continue
            }
            log("data \(lineage[lineage.count - 1].summary)")
        }
        return (files, lineage)
    }

    private func fetch(_ url: String, digest: DataDigest, key: String, to destination: URL) async throws
        -> DataFetcher.Fetched
    {
        do {
            return try await fetcher.fetch(url, digest: digest, key: key, to: destination)
        } catch let failure as DataFetcher.Failure {
            throw TrainingFailure(stage: .data, reason: failure.description)
        }
    }
}
