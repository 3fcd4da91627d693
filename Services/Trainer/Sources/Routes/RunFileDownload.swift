import Foundation
import HTTPTypes
import Hummingbird
import JSON

/// How a kept file is answered: a type by its extension for what a browser
/// shows safely (text, JSON, raster images), a download for anything else;
/// never sniffed, and sandboxed, since the file is the repository's code's output.
enum RunFileDownload {
    static let nameSchema = JSONValue.object(["type": .string("string"), "minLength": .number(1)])

    static let inlineTypes = [
        "json": "application/json", "txt": "text/plain; charset=utf-8", "log": "text/plain; charset=utf-8",
        "csv": "text/plain; charset=utf-8", "md": "text/plain; charset=utf-8", "yaml": "text/plain; charset=utf-8",
        "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif",
    ]

    static func response(_ content: Data, name: String) -> Response {
        let fileExtension = (name as NSString).pathExtension.lowercased()
        var headers: HTTPFields = [
            .contentSecurityPolicy: "sandbox; default-src 'none'", .init("X-Content-Type-Options")!: "nosniff",
        ]
        if let type = inlineTypes[fileExtension] {
            headers[.contentType] = type
        } else {
            headers[.contentType] = "application/octet-stream"
            let safeName = String(
                name.unicodeScalars.map {
                    $0.isASCII && $0.value >= 0x20 && $0 != "\"" && $0 != "\\" ? Character($0) : "_"
                })
            headers[.contentDisposition] = "attachment; filename=\"\(safeName)\""
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: content)))
    }
}
