import CCurl
import DurationUnits
import Foundation
import HTTPTypes
import NIOPosix
import ServiceLifecycle

/// One blocking libcurl easy transfer.
public enum CurlTransfer {
    /// Collects the body and the final response's headers from callbacks; a
    /// 2xx body goes to `sink` instead when there is one.
    final class Accumulator {
        var body: [UInt8] = []
        var headers = HTTPFields()
        /// The status of the response being received.
        var status = 0
        let sink: CurlFileSink?
        /// Set when the caller no longer wants the transfer (checked about once a second by libcurl's progress callback).
        var stop: CurlStop?
        /// A download's error body grew past `errorBodyLimit` and the transfer was stopped there.
        var truncatedErrorBody = false
        init(sink: CurlFileSink? = nil) { self.sink = sink }
    }

    /// What a transfer does beyond its `CurlRequest`: libcurl's SigV4 signing,
    /// a body read from a file, a successful response's body written to a file.
    struct Extras {
        var signing: CurlAWSSigV4?
        var upload: CurlFileRange?
        var download: URL?
        /// The largest `download` accepted, in bytes (checked against Content-Length and as bytes arrive).
        var maxDownloadBytes: Int64?
        /// Stops the download when set.
        var stop: CurlStop?
    }

    /// The most of a non-2xx body a download keeps (its error document); past it the transfer stops.
    static let errorBodyLimit = 64 << 10

    static func perform(_ request: CurlRequest, extras: Extras = Extras()) throws -> CurlResponse {
        guard let handle = curl_easy_init() else {
            throw CurlError.transfer(code: -1, message: "curl_easy_init failed")
        }
        defer { curl_easy_cleanup(handle) }
        let source = try extras.upload.map(CurlFileSource.init)
        let accumulator = Accumulator(
            sink: try extras.download.map { try CurlFileSink($0, limit: extras.maxDownloadBytes, stop: extras.stop) })
        accumulator.stop = extras.stop
        let context = Unmanaged.passRetained(accumulator)
        defer { context.release() }

        var headerList: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(headerList) }
        for field in request.headers {
            headerList = curl_slist_append(headerList, "\(field.name.rawName): \(field.value)")
        }
        // No 100-continue round trip; but libcurl would sign the empty `Expect:` it never sends.
        if request.body != nil, request.headers[.expect] == nil, extras.signing == nil {
            headerList = curl_slist_append(headerList, "Expect:")
        }

        _ = ccurl_setopt_string(handle, CURLOPT_URL, request.url)
        _ = ccurl_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "http,https")
        _ = ccurl_setopt_string(handle, CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
        _ = ccurl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
        _ = ccurl_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, 1)
        _ = ccurl_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, 2)
        _ = ccurl_setopt_long(handle, CURLOPT_TIMEOUT_MS, Int(request.timeout.inMilliseconds))
        _ = ccurl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Int(min(request.timeout, .seconds(10)).inMilliseconds))
        _ = ccurl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, request.maxRedirects > 0 ? 1 : 0)
        _ = ccurl_setopt_long(handle, CURLOPT_MAXREDIRS, request.maxRedirects)
        if extras.signing == nil {  // signed (object store) transfers get the bytes as stored
            _ = ccurl_setopt_string(handle, CURLOPT_ACCEPT_ENCODING, "")
        }
        _ = ccurl_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList)
        _ = ccurl_setopt_write(handle, writeBody)
        _ = ccurl_setopt_pointer(handle, CURLOPT_WRITEDATA, context.toOpaque())
        _ = ccurl_setopt_header(handle, writeHeader)
        _ = ccurl_setopt_pointer(handle, CURLOPT_HEADERDATA, context.toOpaque())

        let method = request.method.rawValue
        switch method {
        case "GET": _ = ccurl_setopt_long(handle, CURLOPT_HTTPGET, 1)
        case "HEAD": _ = ccurl_setopt_long(handle, CURLOPT_NOBODY, 1)
        default: _ = ccurl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, method)
        }
        if let body = request.body {
            _ = ccurl_setopt_offset(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
            body.withUnsafeBytes { bytes in
                _ = ccurl_setopt_pointer(
                    handle, CURLOPT_COPYPOSTFIELDS,
                    UnsafeMutableRawPointer(mutating: bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!))
            }
        }

        let sourceContext = source.map { Unmanaged.passRetained($0) }
        defer { sourceContext?.release() }
        if let sourceContext, let source {
            _ = ccurl_setopt_long(handle, CURLOPT_UPLOAD, 1)
            _ = ccurl_setopt_offset(handle, CURLOPT_INFILESIZE_LARGE, curl_off_t(source.range.length))
            _ = ccurl_setopt_read(handle, readFileSource)
            _ = ccurl_setopt_pointer(handle, CURLOPT_READDATA, sourceContext.toOpaque())
        }
        if let signing = extras.signing {
            _ = ccurl_setopt_string(handle, CURLOPT_AWS_SIGV4, signing.provider)
            _ = ccurl_setopt_string(handle, CURLOPT_USERNAME, signing.accessKeyID)
            _ = ccurl_setopt_string(handle, CURLOPT_PASSWORD, signing.secretAccessKey)
            _ = ccurl_setopt_long(handle, CURLOPT_PATH_AS_IS, 1)  // object keys may hold `..` and `//`
        }
        if extras.stop != nil {  // a stalled transfer stops on cancellation too, not only when bytes arrive
            _ = ccurl_setopt_xferinfo(handle, transferProgress)
            _ = ccurl_setopt_pointer(handle, CURLOPT_XFERINFODATA, context.toOpaque())
            _ = ccurl_setopt_long(handle, CURLOPT_NOPROGRESS, 0)
        }
        if let limit = extras.maxDownloadBytes {
            _ = ccurl_setopt_offset(handle, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(limit))
        }
        if extras.signing != nil || source != nil || accumulator.sink != nil {  // give up on a stall, not on size
            _ = ccurl_setopt_long(handle, CURLOPT_LOW_SPEED_LIMIT, 1)
            _ = ccurl_setopt_long(handle, CURLOPT_LOW_SPEED_TIME, 30)
        }

        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        let code = errorBuffer.withUnsafeMutableBufferPointer { buffer -> CURLcode in
            _ = ccurl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, buffer.baseAddress)
            return curl_easy_perform(handle)
        }
        guard code == CURLE_OK || accumulator.truncatedErrorBody else {
            let detail = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let message =
                source?.failure ?? accumulator.sink?.failure
                ?? (detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail)
            if extras.stop?.isSet == true { throw CancellationError() }
            if accumulator.sink?.exceeded == true {
                throw CurlError.tooLarge("\(method) \(redacted(request.url)): \(message)")
            }
            throw error(for: code, message: "\(method) \(redacted(request.url)): \(message)")
        }
        var status = 0
        _ = ccurl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return CurlResponse(
            status: HTTPResponse.Status(code: status), headers: accumulator.headers, body: accumulator.body)
    }

    private static func error(for code: CURLcode, message: String) -> CurlError {
        switch code {
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_CONNECT,
            CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_GOT_NOTHING:
            return .connect(message)
        case CURLE_OPERATION_TIMEDOUT: return .timeout(message)
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM,
            CURLE_SSL_CIPHER, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR:
            return .tls(message)
        case CURLE_TOO_MANY_REDIRECTS: return .tooManyRedirects(message)
        case CURLE_FILESIZE_EXCEEDED: return .tooLarge(message)
        default: return .transfer(code: Int(code.rawValue), message: message)
        }
    }

    /// Drops user-info (credentials) and the query string from a URL for messages.
    public static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url) else { return "<url>" }
        components.user = nil
        components.password = nil
        components.query = nil
        return components.string ?? "<url>"
    }
}

private func writeBody(
    _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?
) -> Int {
    guard let data, let context else { return 0 }
    let accumulator = Unmanaged<CurlTransfer.Accumulator>.fromOpaque(context).takeUnretainedValue()
    let length = size * count
    if let sink = accumulator.sink {
        if (200..<300).contains(accumulator.status) {
            return sink.write(UnsafeRawBufferPointer(start: data, count: length)) ? length : 0
        }
        // A download's error document is kept in memory only up to a bound (a server could send forever).
        if accumulator.body.count + length > CurlTransfer.errorBodyLimit {
            accumulator.truncatedErrorBody = true
            return 0
        }
    }
    data.withMemoryRebound(to: UInt8.self, capacity: length) { bytes in
        accumulator.body.append(contentsOf: UnsafeBufferPointer(start: bytes, count: length))
    }
    return length
}

private func writeHeader(
    _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?
) -> Int {
    guard let data, let context else { return 0 }
    let accumulator = Unmanaged<CurlTransfer.Accumulator>.fromOpaque(context).takeUnretainedValue()
    let length = size * count
    let line = data.withMemoryRebound(to: UInt8.self, capacity: length) { bytes in
        String(decoding: UnsafeBufferPointer(start: bytes, count: length), as: UTF8.self)
    }.trimmingCharacters(in: .whitespacesAndNewlines)
    if line.hasPrefix("HTTP/") {
        accumulator.headers = [:]  // a new response (redirect or 100-continue) starts
        accumulator.status = line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
    } else if let colon = line.firstIndex(of: ":") {
        let name = String(line[..<colon]).trimmingCharacters(in: .whitespaces)
        let value = String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
        if let fieldName = HTTPField.Name(name) { accumulator.headers.append(HTTPField(name: fieldName, value: value)) }
    }
    return length
}

/// libcurl's progress callback (about once a second, and as data moves): non-zero aborts the transfer.
private func transferProgress(
    _ context: UnsafeMutableRawPointer?, _ downloadTotal: curl_off_t, _ downloaded: curl_off_t,
    _ uploadTotal: curl_off_t, _ uploaded: curl_off_t
) -> Int32 {
    guard let context else { return 0 }
    let accumulator = Unmanaged<CurlTransfer.Accumulator>.fromOpaque(context).takeUnretainedValue()
    return accumulator.stop?.isSet == true ? 1 : 0
}
