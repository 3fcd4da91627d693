import Foundation
import GitHub
import HTTPClient
import HTTPTypes
import ServiceKit

/// Sends a GitHub-style webhook delivery: `X-GitHub-Event`,
/// `X-GitHub-Delivery` and `X-Hub-Signature-256` (HMAC-SHA256 of the body
/// with the secret), or a deliberately wrong signature.
public enum WebhookSender {
    /// The `pull_request` payload for PR `number` of the repository: `closed` and merged for a
    /// merge, or `action` (default `synchronize`: a push) for an open one.
    public static func pullRequestPayload(_ pulls: GitPullRequests, number: Int, action: String? = nil) async throws
        -> Data
    {
        guard let pull = try await pulls.list().first(where: { ($0["number"] as? Int) == number }) else {
            throw CurlError.decode(
                "pull request #\(number) is neither a merge nor a refs/pull/\(number)/head in \(pulls.repositoryPath.path)"
            )
        }
        var payload = pull
        let open = (pull["state"] as? String) == "open"
        payload["merged"] = !open
        return try JSONSerialization.data(
            withJSONObject: [
                "action": action ?? (open ? "synchronize" : "closed"), "number": number, "pull_request": payload,
            ] as [String: Any],
            options: [.sortedKeys])
    }

    /// POSTs the delivery and returns the response.
    public static func send(
        url: String, event: String, body: Data, secret: String, delivery: String, wrongSignature: Bool
    ) async throws -> CurlResponse {
        let signed = WebhookSignature(secret: wrongSignature ? secret + "-wrong" : secret).header(for: body)
        let client = CurlHTTPClient(concurrency: 1)
        defer { Task { await client.shutdown() } }
        return try await client.send(
            CurlRequest(
                method: .post, url: url,
                headers: [
                    .contentType: "application/json", .xGitHubEvent: event, .xGitHubDelivery: delivery,
                    .xHubSignature256: signed, .userAgent: "GitHub-Hookshot/conveyor-sandbox",
                ], body: Array(body), timeout: .seconds(15)))
    }
}
