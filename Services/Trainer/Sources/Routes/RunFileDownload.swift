import Foundation
import HTTPTypes
import Hummingbird
import JSON
import ServiceKit

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

    /// The file name a request's path segment spells: percent-decoded (`loss%20curve.png`),
    /// as a browser or a client library encodes a name with spaces or non-ASCII letters.
    static func name(_ segment: String) throws -> String {
        guard let name = segment.removingPercentEncoding, !name.isEmpty else {
            throw APIError.validation([FieldProblem(field: "name", problem: "is not a percent-encoded file name")])
        }
        return name
    }

    /// What RFC 8187 lets a `filename*` value hold unencoded (ASCII letters, digits, `-._~`).
    static let attributeCharacters = CharacterSet(
        charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")

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
            let encoded = name.addingPercentEncoding(withAllowedCharacters: attributeCharacters) ?? safeName
            headers[.contentDisposition] = "attachment; filename=\"\(safeName)\"; filename*=UTF-8''\(encoded)"
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: content)))
    }
}
