import HTTPClient
import JSON

/// The version of each model the serving replica at `url` has loaded, by name (from `GET /models`).
func loadedModelVersions(_ http: CurlHTTPClient, _ url: String) async throws -> [String: String] {
    let (_, listed) = try await http.json("GET", "\(url)/models")
    var versions: [String: String] = [:]
    for entry in listed["models"]?.arrayValue ?? [] {
        if let name = entry["name"]?.stringValue, let loaded = entry["loaded_version"]?.stringValue {
            versions[name] = loaded
        }
    }
    return versions
}
