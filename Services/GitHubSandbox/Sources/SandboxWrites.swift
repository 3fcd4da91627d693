import Crypto
import Foundation
import JSON
import Synchronization

/// What clients wrote to the sandbox as they would to GitHub: commit
/// statuses by sha (with a hash of the token they came with) and issue
/// comments (created, then edited), plus queued failures for the next write requests
/// (a status code each, e.g. 502 twice) and a count of every attempt.
public final class SandboxWrites: Sendable {
    private struct State {
        var statuses: [String: [JSONValue]] = [:]
        var comments: [Int64: (issue: Int64, body: JSONValue)] = [:]
        var nextID: Int64 = 1
        var failures: [Int] = []
        var attempts = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// Queues `statuses` as the answers of the next write requests.
    func queueFailures(_ statuses: [Int]) { state.withLock { $0.failures += statuses } }

    /// Counts an attempt; the status to fail it with, if one is queued.
    func nextFailure() -> Int? {
        state.withLock { state in
            state.attempts += 1
            return state.failures.isEmpty ? nil : state.failures.removeFirst()
        }
    }

    /// Stores a commit status and returns it as GitHub does (with an id and a time), and the
    /// SHA-256 of the bearer token it came with (a test can check it; the token itself is not kept).
    func addStatus(sha: String, _ fields: [String: JSONValue], token: String?) -> JSONValue {
        let tokenHash = token.map { SHA256.hash(data: Data($0.utf8)).map { String(format: "%02x", $0) }.joined() }
        return state.withLock { state in
            var status = fields
            status["id"] = .number(Double(state.nextID))
            status["created_at"] = .string(ISO8601DateFormatter().string(from: Date()))
            status["token_sha256"] = tokenHash.map { .string($0) } ?? .null
            state.nextID += 1
            state.statuses[sha, default: []].insert(.object(status), at: 0)
            return .object(status)
        }
    }

    /// A commit's statuses, newest first.
    func statuses(sha: String) -> [JSONValue] { state.withLock { $0.statuses[sha] ?? [] } }

    /// Creates a comment on `issue`.
    func addComment(issue: Int64, body: String) -> JSONValue {
        state.withLock { state in
            let id = state.nextID
            state.nextID += 1
            let comment = Self.comment(id: id, issue: issue, body: body, edits: 0)
            state.comments[id] = (issue, comment)
            return comment
        }
    }

    /// Replaces a comment's body; nil when there is no such comment.
    func editComment(id: Int64, body: String) -> JSONValue? {
        state.withLock { state in
            guard let existing = state.comments[id] else { return nil }
            let edits = (existing.body["edits"]?.integerValue ?? 0) + 1
            let comment = Self.comment(id: id, issue: existing.issue, body: body, edits: Int(edits))
            state.comments[id] = (existing.issue, comment)
            return comment
        }
    }

    /// An issue's comments, oldest first.
    func comments(issue: Int64) -> [JSONValue] {
        state.withLock { state in
            state.comments.filter { $0.value.issue == issue }.sorted { $0.key < $1.key }.map(\.value.body)
        }
    }

    /// Write attempts so far, failed ones included.
    var attempts: Int { state.withLock { $0.attempts } }

    func removeAll() { state.withLock { $0 = State() } }

    private static func comment(id: Int64, issue: Int64, body: String, edits: Int) -> JSONValue {
        .object([
            "id": .number(Double(id)), "issue": .number(Double(issue)), "body": .string(body),
            "edits": .number(Double(edits)), "updated_at": .string(ISO8601DateFormatter().string(from: Date())),
        ])
    }
}
