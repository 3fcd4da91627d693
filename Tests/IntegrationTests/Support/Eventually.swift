import Foundation

/// Retries `body` every `interval` until it returns a value or `timeout` passes.
func eventually<T>(
    timeout: Double = 60, interval: Double = 0.1, _ what: String, _ body: () async throws -> T?
) async throws -> T {
    let deadline = Date().addingTimeInterval(timeout)
    var lastError: Error?
    while Date() < deadline {
        do {
            if let value = try await body() { return value }
        } catch {
            lastError = error
        }
        try await Task.sleep(for: .seconds(interval))
    }
    throw HarnessError(
        "timed out after \(timeout)s waiting for \(what)" + (lastError.map { " (last error: \($0))" } ?? ""))
}
