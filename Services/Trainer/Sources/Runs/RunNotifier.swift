import Foundation
import HTTPClient
import Logging
import Registry

/// Tells people about deployed, rejected and failed runs: a JSON POST to
/// `NOTIFY_WEBHOOK_URL` and/or an e-mail through `SMTP_URL`. A delivery that
/// fails is logged; it never fails the run.
public struct RunNotifier: Sendable {
    let client: CurlHTTPClient
    let webhookURL: String?
    let smtpURL: String?
    let emailTo: [String]
    let emailFrom: String
    let logger: Logger

    public init(
        client: CurlHTTPClient, webhookURL: String?, smtpURL: String?, emailTo: [String], emailFrom: String,
        logger: Logger
    ) {
        self.client = client
        self.webhookURL = webhookURL
        self.smtpURL = smtpURL
        self.emailTo = emailTo
        self.emailFrom = emailFrom
        self.logger = logger
    }

    public func announce(_ announcement: RunAnnouncement) async {
        let details = [
            "Run: \(announcement.run)", "Status: \(announcement.status.rawValue)",
            "Pull request: #\(announcement.prNumber)",
            "Commit: \(announcement.commit)", announcement.version.map { "Version: \($0)" },
            announcement.reason.map { "Reason: \($0)" },
        ].compactMap { $0 }
        await send(announcement, subject: announcement.text, details: details, about: "run \(announcement.run)")
    }

    /// Posts `body` to the webhook, retrying a transient failure (refused, reset, timed out, 5xx, 429) twice
    /// after 0.5 s and 2 s: a receiver's restart or a blip under load should not lose a notification.
    func post(_ body: Data, to url: String, about: String) async throws {
        let delays: [Duration] = [.milliseconds(500), .seconds(2)]
        var attempt = 0
        while true {
            do {
                _ = try await client.send(
                    CurlRequest(
                        method: .post, url: url, headers: [.contentType: "application/json"],
                        body: Array(body), timeout: .seconds(10))
                ).expectSuccess()
                return
            } catch let error as CurlError where error.isTransient && attempt < delays.count {
                logger.info(
                    "notification webhook failed; retrying",
                    metadata: ["error": "\(error)", "about": "\(about)", "attempt": "\(attempt + 1)"])
                try await Task.sleep(for: delays[attempt])
                attempt += 1
            }
        }
    }

    /// Posts `payload` to the webhook and mails `subject` with `details`; failures are logged, never thrown.
    func send(_ payload: some Encodable, subject: String, details: [String], about: String) async {
        if let webhookURL {
            do {
                try await post(JSONEncoder().encode(payload), to: webhookURL, about: about)
                TrainerMetrics.notification(channel: "webhook", sent: true)
            } catch {
                TrainerMetrics.notification(channel: "webhook", sent: false)
                logger.warning("notification webhook failed", metadata: ["error": "\(error)", "about": "\(about)"])
            }
        }
        if let smtpURL, !emailTo.isEmpty {
            do {
                try await client.sendMail(
                    MailMessage(
                        from: emailFrom, to: emailTo, subject: subject, body: details.joined(separator: "\n")),
                    url: smtpURL, timeout: .seconds(15))
                TrainerMetrics.notification(channel: "email", sent: true)
            } catch {
                TrainerMetrics.notification(channel: "email", sent: false)
                logger.warning("notification e-mail failed", metadata: ["error": "\(error)", "about": "\(about)"])
            }
        }
    }
}
