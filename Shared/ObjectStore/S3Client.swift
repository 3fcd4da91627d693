import Foundation
import HTTPClient
import HTTPTypes

/// One bucket of an S3-compatible object store (SeaweedFS, MinIO, Garage,
/// Ceph RGW, AWS S3), over the project's libcurl client: path-style URLs
/// (`endpoint/bucket/key`), requests signed by libcurl (SigV4), and bodies
/// streamed from and to disk where they may be large; files above
/// `multipartThreshold` go up in parts. Transfers run on the HTTP client's
/// threads, never on an event loop.
///
/// Errors are `S3Error` when the store refused a request (its code names why)
/// and `CurlError` when it could not be reached.
public struct S3Client: Sendable {
    /// The bucket every key is in.
    public let bucket: String
    /// Endpoint, region and credentials.
    public let settings: S3Settings
    /// Files larger than this many bytes are uploaded in parts.
    public let multipartThreshold: Int64
    /// The size of every part but the last; S3's minimum is 5 MiB.
    public let partSize: Int64
    /// How many parts of one file are uploaded at once.
    public let partConcurrency: Int
    /// Bounds one request whole (large files take long); any request also fails
    /// after 30 s without a byte moving, and a connection takes at most 10 s.
    public let timeout: Duration
    let http: CurlHTTPClient

    /// S3's smallest part (but the last) of a multipart upload.
    public static let minimumPartSize: Int64 = 5 << 20

    public init(
        bucket: String, settings: S3Settings, http: CurlHTTPClient, multipartThreshold: Int64 = 64 << 20,
        partSize: Int64 = 16 << 20, partConcurrency: Int = 4, timeout: Duration = .seconds(3600)
    ) {
        precondition(partSize >= Self.minimumPartSize, "S3 parts (but the last) hold at least 5 MiB")
        self.bucket = bucket
        self.settings = settings
        self.http = http
        self.multipartThreshold = max(multipartThreshold, partSize)
        self.partSize = partSize
        self.partConcurrency = max(1, partConcurrency)
        self.timeout = timeout
    }

    /// A client for the bucket of `location` (keys are not prefixed: use `location.key(_:)`).
    public init(location: S3Location, settings: S3Settings, http: CurlHTTPClient) {
        self.init(bucket: location.bucket, settings: settings, http: http)
    }

    /// Creates the bucket; one that exists and is the caller's already is not an error.
    public func createBucket() async throws {
        let body =
            settings.region == "us-east-1"
            ? nil
            : Array(
                """
                <CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">\
                <LocationConstraint>\(settings.region)</LocationConstraint></CreateBucketConfiguration>
                """.utf8)
        do {
            try await send(.put, key: nil, body: body)
        } catch let error as S3Error where error.code == .bucketAlreadyOwnedByYou {
            return
        }
    }

    /// Stores `data` under `key`, replacing any object there; returns the ETag.
    @discardableResult
    public func put(_ key: String, data: [UInt8], contentType: String = "application/octet-stream") async throws
        -> String
    {
        let response = try await send(.put, key: key, body: data, contentType: contentType)
        return response.header(.eTag) ?? ""
    }

    /// Stores the file's bytes under `key`, streamed from disk, in parts above
    /// `multipartThreshold`; returns the ETag. An upload that fails leaves no object
    /// (and no multipart upload behind: it is aborted).
    @discardableResult
    public func put(_ key: String, file: URL, contentType: String = "application/octet-stream") async throws
        -> String
    {
        let whole = try CurlFileRange.whole(file)
        if whole.length > multipartThreshold {
            return try await putInParts(key, file: whole, contentType: contentType)
        }
        let hash = try await PayloadHash.of(whole)
        let response = try await send(.put, key: key, upload: whole, payloadHash: hash, contentType: contentType)
        return response.header(.eTag) ?? ""
    }

    /// The object's bytes, in memory.
    public func get(_ key: String) async throws -> [UInt8] {
        try await send(.get, key: key).body
    }

    /// Streams the object into `destination`: written under a temporary name
    /// beside it and renamed into place once whole, so `destination` is either
    /// the complete object or untouched.
    @discardableResult
    public func download(_ key: String, to destination: URL) async throws -> S3ObjectHead {
        let partial = destination.deletingLastPathComponent().appendingPathComponent(
            ".\(destination.lastPathComponent).\(UUID().uuidString.prefix(8)).partial")
        do {
            let response = try await send(.get, key: key, downloadTo: partial)
            let attributes = try FileManager.default.attributesOfItem(atPath: partial.path)
            let size = (attributes[.size] as? NSNumber)?.int64Value ?? 0
            if let length = response.header(.contentLength).flatMap(Int64.init), length != size {
                throw S3Error(
                    code: .invalidRequest, message: "received \(size) of \(length) bytes", status: 0, bucket: bucket,
                    key: key)
            }
            guard rename(partial.path, destination.path) == 0 else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: destination.path])
            }
            return S3ObjectHead(size: size, etag: response.header(.eTag) ?? "")
        } catch {
            try? FileManager.default.removeItem(at: partial)
            throw error
        }
    }

    /// The object's size and ETag, or nil when there is no object under `key`
    /// (a `HEAD` answer has no body: a missing bucket reads as a missing key).
    public func head(_ key: String) async throws -> S3ObjectHead? {
        do {
            let response = try await send(.head, key: key)
            let size = response.header(.contentLength).flatMap(Int64.init) ?? 0
            return S3ObjectHead(size: size, etag: response.header(.eTag) ?? "")
        } catch let error as S3Error where error.status == 404 {
            return nil
        }
    }

    /// Deletes the object; deleting a key that is not there is not an error.
    public func delete(_ key: String) async throws {
        try await send(.delete, key: key)
    }

    /// Sends one signed request and returns its 2xx response; any other status
    /// becomes an `S3Error`. `key` nil addresses the bucket.
    @discardableResult
    func send(
        _ method: HTTPRequest.Method, key: String?, query: [(name: String, value: String)] = [], body: [UInt8]? = nil,
        upload: CurlFileRange? = nil, payloadHash: String? = nil, contentType: String? = nil,
        downloadTo download: URL? = nil
    ) async throws -> CurlResponse {
        if let key, key.isEmpty {
            throw S3Error(
                code: .invalidRequest, message: "an object key cannot be empty", status: 0, bucket: bucket, key: key)
        }
        var headers = HTTPFields()
        headers[.xAmzContentSHA256] = payloadHash ?? body.map(PayloadHash.of) ?? PayloadHash.empty
        if let contentType { headers[.contentType] = contentType }
        let request = CurlRequest(
            method: method, url: url(key: key, query: query), headers: headers, body: body, timeout: timeout,
            maxRedirects: 0)
        let response = try await http.send(request, signing: settings.signing, upload: upload, downloadTo: download)
        guard response.status.kind == .successful else { throw error(from: response, key: key) }
        return response
    }

    /// `endpoint/bucket[/key][?query]`, every part already in SigV4's canonical encoding.
    func url(key: String?, query: [(name: String, value: String)] = []) -> String {
        var url = settings.endpoint + "/" + SigV4Encoding.encode(bucket)
        if let key { url += "/" + SigV4Encoding.encode(key, keepingSlashes: true) }
        if !query.isEmpty { url += "?" + SigV4Encoding.query(query) }
        return url
    }

    /// The `S3Error` a refused request's response stands for: its error document,
    /// or for a body-less answer (`HEAD`) the HTTP reason.
    func error(from response: CurlResponse, key: String?) -> S3Error {
        let document = S3XML(response.body)
        let requestID = document.text("Error", "RequestId") ?? response.header(.xAmzRequestID)
        if document.root == "Error", let code = document.text("Error", "Code") {
            return S3Error(
                code: S3Error.Code(rawValue: code), message: document.text("Error", "Message") ?? "",
                status: response.status.code, bucket: bucket, key: key, requestID: requestID)
        }
        let reasons = [
            400: "BadRequest", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed", 409: "Conflict",
            412: "PreconditionFailed", 416: "InvalidRange", 500: "InternalError", 503: "ServiceUnavailable",
        ]
        let status = response.status.code
        return S3Error(
            code: S3Error.Code(rawValue: reasons[status] ?? "HTTP\(status)"),
            message: "HTTP \(status) without an S3 error document", status: status, bucket: bucket, key: key,
            requestID: requestID)
    }
}
