import CCurl
import Foundation

/// An e-mail to send over SMTP.
public struct MailMessage: Sendable {
    public var from: String
    public var to: [String]
    public var subject: String
    public var body: String

    public init(from: String, to: [String], subject: String, body: String) {
        self.from = from
        self.to = to
        self.subject = subject
        self.body = body
    }

    /// RFC 5322 text with CRLF line ends: a `Date` in the RFC's own format (in
    /// UTC, independent of the locale), a unique `Message-ID`, and header
    /// values from which line breaks are removed (no header injection).
    func rfc5322(date: Date = Date(), messageID: String = UUID().uuidString) -> [UInt8] {
        let domain = from.split(separator: "@").last.map(String.init) ?? "localhost"
        let headers = [
            "From: <\(Self.headerValue(from))>",
            "To: " + to.map { "<\(Self.headerValue($0))>" }.joined(separator: ", "),
            "Subject: \(Self.headerValue(subject))", "Date: \(Self.rfc5322Date(date))",
            "Message-ID: <\(messageID.lowercased())@\(Self.headerValue(domain))>",
            "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8",
        ]
        let text = body.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n")
        return Array((headers.joined(separator: "\r\n") + "\r\n\r\n" + text + "\r\n").utf8)
    }

    /// `Tue, 24 Nov 2026 06:03:50 +0000` (RFC 5322 §3.3), always in English and UTC.
    static func rfc5322Date(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        return formatter.string(from: date)
    }

    /// A header value with CR and LF replaced by spaces.
    static func headerValue(_ text: String) -> String {
        String(text.map { $0 == "\r" || $0 == "\n" || $0 == "\r\n" ? " " : $0 })
    }

    /// Whether `address` can stand in a header: non-empty, no CR, LF or angle brackets.
    public static func isValidAddress(_ address: String) -> Bool {
        !address.isEmpty && address.contains("@")
            && !address.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\r\n" || $0 == "<" || $0 == ">" })
    }
}

extension CurlHTTPClient {
    /// Sends `message` through the SMTP server at `url` (`smtp://host:port` or
    /// `smtps://…`; credentials may be in the URL). STARTTLS is used when offered.
    public func sendMail(_ message: MailMessage, url: String, timeout: Duration = .seconds(30)) async throws {
        try await run { try CurlMailTransfer.perform(message, url: url, timeout: timeout) }
    }
}

/// One blocking libcurl SMTP upload.
enum CurlMailTransfer {
    /// The bytes still to upload, read by libcurl's callback.
    final class Upload {
        let bytes: [UInt8]
        var offset = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }
    }

    static func perform(_ message: MailMessage, url: String, timeout: Duration) throws {
        guard let handle = curl_easy_init() else {
            throw CurlError.transfer(code: -1, message: "curl_easy_init failed")
        }
        defer { curl_easy_cleanup(handle) }
        let upload = Unmanaged.passRetained(Upload(message.rfc5322()))
        defer { upload.release() }
        var recipients: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(recipients) }
        for recipient in message.to { recipients = curl_slist_append(recipients, "<\(recipient)>") }

        _ = ccurl_setopt_string(handle, CURLOPT_URL, url)
        _ = ccurl_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "smtp,smtps")
        _ = ccurl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
        _ = ccurl_setopt_long(handle, CURLOPT_USE_SSL, Int(CURLUSESSL_TRY.rawValue))
        _ = ccurl_setopt_long(handle, CURLOPT_TIMEOUT_MS, Int(timeout.inMilliseconds))
        _ = ccurl_setopt_string(handle, CURLOPT_MAIL_FROM, "<\(message.from)>")
        _ = ccurl_setopt_slist(handle, CURLOPT_MAIL_RCPT, recipients)
        _ = ccurl_setopt_long(handle, CURLOPT_UPLOAD, 1)
        _ = ccurl_setopt_read(handle, readUpload)
        _ = ccurl_setopt_pointer(handle, CURLOPT_READDATA, upload.toOpaque())
        let code = curl_easy_perform(handle)
        guard code == CURLE_OK else {
            let message = String(cString: curl_easy_strerror(code))
            throw CurlError.transfer(
                code: Int(code.rawValue), message: "SMTP \(CurlTransfer.redacted(url)): \(message)")
        }
    }
}

private func readUpload(
    _ buffer: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?
) -> Int {
    guard let buffer, let context else { return 0 }
    let upload = Unmanaged<CurlMailTransfer.Upload>.fromOpaque(context).takeUnretainedValue()
    let length = min(size * count, upload.bytes.count - upload.offset)
    guard length > 0 else { return 0 }
    upload.bytes.withUnsafeBufferPointer { bytes in
        UnsafeMutableRawPointer(buffer).copyMemory(from: bytes.baseAddress! + upload.offset, byteCount: length)
    }
    upload.offset += length
    return length
}
