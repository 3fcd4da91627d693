import Hummingbird

/// A fixed asset compiled into the binary (stylesheet, scripts), cacheable for an hour.
public enum StaticAsset {
    public static func response(_ text: String, type: String) -> Response {
        Response(
            status: .ok, headers: [.contentType: type, .cacheControl: "public, max-age=3600"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
