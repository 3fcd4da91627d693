import Foundation
import HTTPClient
import Logging
import Registry

/// The end of a run, as announced to people.
public struct RunAnnouncement: Sendable, Encodable {
    public let run: Int64
    public let status: RunOutcome
    public let prNumber: Int64
    public let prTitle: String?
    public let commit: String
    public let version: String?
    public let reason: String?
    /// A preview of an open pull request (never deployed).
    public var isPreview = false

    /// One line for chat and the e-mail subject.
    public var text: String {
        let pr = "PR #\(prNumber)" + (prTitle.map { " \"\($0)\"" } ?? "")
        if isPreview {
            return "Conveyor previewed \(pr) at \(commit.prefix(7)) (run \(run)): "
                + (status == .succeeded ? "every gate passed" : "\(status.rawValue): \(reason ?? "")")
        }
        switch status {
        case .succeeded: return "Conveyor deployed \(version ?? "a new model") from \(pr) (run \(run))"
        case .rejected: return "Conveyor rejected the model of \(pr) (run \(run)): \(reason ?? "")"
        case .failed: return "Conveyor run \(run) for \(pr) failed: \(reason ?? "")"
        case .cancelled: return "Conveyor run \(run) for \(pr) was cancelled"
        }
    }

    enum CodingKeys: String, CodingKey {
        case text, run, status
        case prNumber = "pr_number"
        case prTitle = "pr_title"
        case commit, version, reason
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(text, forKey: .text)  // Slack-compatible
        try container.encode(run, forKey: .run)
        try container.encode(status, forKey: .status)
        try container.encode(prNumber, forKey: .prNumber)
        try container.encodeIfPresent(prTitle, forKey: .prTitle)
        try container.encode(commit, forKey: .commit)
        try container.encodeIfPresent(version, forKey: .version)
        try container.encodeIfPresent(reason, forKey: .reason)
    }
}

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

    /// Posts `payload` to the webhook and mails `subject` with `details`; failures are logged, never thrown.
    func send(_ payload: some Encodable, subject: String, details: [String], about: String) async {
        if let webhookURL {
            do {
                let body = try JSONEncoder().encode(payload)
                try await client.send(
                    CurlRequest(
                        method: .post, url: webhookURL, headers: [.contentType: "application/json"],
                        body: Array(body), timeout: .seconds(10))
                ).expectSuccess()
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
