import HTTPTypes

/// TEMPORARY (evidence build of the old behaviour): no page headers.
public enum PageSecurity {
    public static let headers: HTTPFields = [:]
}
