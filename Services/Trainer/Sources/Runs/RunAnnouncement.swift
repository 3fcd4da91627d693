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
