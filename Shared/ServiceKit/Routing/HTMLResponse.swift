import Foundation
import Hummingbird
import JSON

/// HTML pages and other text answers.
public enum HTMLResponse {
    /// A `text/html; charset=utf-8` response with `PageSecurity`'s headers.
    public static func make(_ html: String, status: HTTPResponse.Status = .ok) -> Response {
        var headers = PageSecurity.headers
        headers[.contentType] = "text/html; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }
}
