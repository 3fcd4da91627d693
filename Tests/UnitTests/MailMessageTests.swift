import Foundation
import Testing

@testable import HTTPClient
@testable import ServiceKit
@testable import TrainerService

@Suite("Run e-mails (RFC 5322)")
struct MailMessageTests {
    static func headers(_ message: MailMessage) -> [String] {
        let text = String(
            decoding: message.rfc5322(date: Date(timeIntervalSince1970: 1_795_500_000), messageID: "ID-1"),
            as: UTF8.self)
        return text.components(separatedBy: "\r\n\r\n")[0].components(separatedBy: "\r\n")
    }

    @Test("Date is RFC 5322 in UTC, Message-ID is present, every header is one line")
    func headerFormat() {
        let headers = Self.headers(
            MailMessage(
                from: "conveyor@example.com", to: ["a@example.com"], subject: "deployed\r\nBcc: x@evil", body: "hi"))
        #expect(headers.contains("Date: Tue, 24 Nov 2026 06:00:00 +0000"), "\(headers)")
        #expect(headers.contains("Message-ID: <id-1@example.com>"))
        #expect(headers.contains("Subject: deployed Bcc: x@evil"), "no injected header: \(headers)")
        #expect(!headers.contains { $0.hasPrefix("Bcc:") })
    }

    @Test(
        "addresses with line breaks or angle brackets are refused at configuration time",
        arguments: [
            ["NOTIFY_EMAIL_TO": "ops@example.com\r\nBcc: evil@example.com"],
            ["NOTIFY_EMAIL_TO": "ops@example.com, <x>@y"], ["NOTIFY_EMAIL_FROM": "me@x\nBcc: y@z"],
        ])
    func badAddresses(_ settings: [String: String]) {
        let env = EnvironmentReader(
            ["DATABASE_URL": "postgresql://x/y", "ARTIFACTS_DIR": "/tmp", "MODEL_REPO_URL": "/tmp/r"].merging(settings)
            {
                $1
            })
        do {
            _ = try TrainerConfiguration.fromEnvironment(env)
            Issue.record("\(settings) was accepted")
        } catch let error as ConfigurationError {
            #expect(["NOTIFY_EMAIL_TO", "NOTIFY_EMAIL_FROM"].contains(error.variable))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}
