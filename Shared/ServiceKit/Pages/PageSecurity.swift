import HTTPTypes

/// The headers every HTML page carries: a Content-Security-Policy that lets
/// a page load only this service's own script, stylesheet and requests (no
/// inline script, no other origin), and refuses framing (`frame-ancestors`,
/// and `X-Frame-Options` for browsers that predate it). Inline `style`
/// attributes stay allowed: the heat maps and frequency bars size cells with
/// them; `<style>` elements do not.
public enum PageSecurity {
    public static let contentSecurityPolicy = [
        "default-src 'none'", "script-src 'self'", "style-src 'self'", "style-src-attr 'unsafe-inline'",
        "img-src 'self' data:", "connect-src 'self'", "form-action 'self'", "base-uri 'none'",
        "frame-ancestors 'none'",
    ].joined(separator: "; ")

    /// The page headers, to merge into a response's.
    public static let headers: HTTPFields = [
        .contentSecurityPolicy: contentSecurityPolicy, HTTPField.Name("X-Frame-Options")!: "DENY",
        HTTPField.Name("X-Content-Type-Options")!: "nosniff",
    ]
}
