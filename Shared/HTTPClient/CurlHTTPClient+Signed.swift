import Foundation

extension CurlHTTPClient {
    /// Sends a request that libcurl signs with AWS Signature Version 4, with its
    /// body streamed from a file and a successful response's body streamed into
    /// one, so that neither has to fit in memory.
    ///
    /// The caller sets `x-amz-content-sha256` (the payload's hash, or
    /// `UNSIGNED-PAYLOAD`): libcurl signs the value it is given. These transfers
    /// give up when no byte moves for 30 s; `request.timeout` bounds the whole.
    /// - Parameters:
    ///   - signing: the credentials libcurl signs with; nil sends the request unsigned.
    ///   - upload: the body, read from this file range (use with `PUT`; `request.body` must be nil).
    ///   - download: the file a 2xx response's body is written to (created or
    ///     truncated); any other response keeps its body, e.g. an error document, in memory.
    ///   - maxDownloadBytes: a larger `download` fails the transfer with `CurlError.tooLarge`.
    ///
    /// A download stops (throwing `CancellationError`) soon after the calling task is cancelled.
    public func send(
        _ request: CurlRequest, signing: CurlAWSSigV4?, upload: CurlFileRange? = nil, downloadTo download: URL? = nil,
        maxDownloadBytes: Int64? = nil
    ) async throws -> CurlResponse {
        precondition(upload == nil || request.body == nil, "a request has one body: in memory or from a file")
        // A download stops when the task is cancelled (its write callback fails the transfer).
        let stop = CurlStop()
        let extras = CurlTransfer.Extras(
            signing: signing, upload: upload, download: download, maxDownloadBytes: maxDownloadBytes, stop: stop)
        return try await withTaskCancellationHandler {
            try await run { try CurlTransfer.perform(request, extras: extras) }
        } onCancel: {
            stop.set()
        }
    }
}
