import Foundation
import JSON
import Synchronization

/// Pull requests the sandbox serves besides the git repository's merges:
/// generated in bulk (for pagination) or put as raw JSON by a test (any
/// shape, including ones GitHub should never send).
public final class SandboxPulls: Sendable {
    private let extra = Mutex<[Int64: JSONValue]>([:])

    public init() {}

    /// Adds `count` open or closed-unmerged pull requests numbered from
    /// `first`, updated one second apart ending now (none is merged, so a
    /// trainer ignores them).
    func generate(count: Int, first: Int64, repository: String) {
        let now = Date().timeIntervalSince1970.rounded(.down)
        let formatter = ISO8601DateFormatter()
        extra.withLock { pulls in
            for index in 0..<count {
                let number = first + Int64(index)
                let updated = formatter.string(from: Date(timeIntervalSince1970: now - Double(count - index)))
                let created = formatter.string(from: Date(timeIntervalSince1970: now - Double(count - index) - 86_400))
                pulls[number] = .object([
                    "id": .number(Double(5_000_000 + number)), "number": .number(Double(number)),
                    "state": index % 3 == 0 ? "closed" : "open", "title": .string("Generated change \(number)"),
                    "body": .string("Body of generated pull request \(number)."),
                    "html_url": .string("https://github.com/\(repository)/pull/\(number)"),
                    "draft": .bool(index % 5 == 0), "locked": .bool(false), "author_association": "CONTRIBUTOR",
                    "user": .object([
                        "login": .string("dev-\(index % 17)"), "id": .number(Double(7000 + index % 17)), "type": "User",
                    ]),
                    "labels": .array(
                        (0..<(index % 3)).map { label in
                            .object([
                                "id": .number(Double(900 + label)), "name": .string("label-\(label)"),
                                "color": "ededed",
                            ])
                        }),
                    "assignees": .array([]), "requested_reviewers": .array([]),
                    "created_at": .string(created), "updated_at": .string(updated),
                    "closed_at": index % 3 == 0 ? .string(updated) : .null, "merged_at": .null,
                    "merge_commit_sha": .null,
                    "head": .object([
                        "ref": .string("gen-\(number)"), "sha": .string(String(format: "%040x", number)),
                        "label": .string("dev:gen-\(number)"),
                    ]),
                    "base": .object([
                        "ref": "main", "sha": .string(String(format: "%040x", 1)), "label": "conveyor:main",
                    ]),
                ])
            }
        }
    }

    /// Stores `pull` as pull request `number`, replacing any earlier one.
    func put(number: Int64, pull: JSONValue) { extra.withLock { $0[number] = pull } }

    func removeAll() { extra.withLock { $0.removeAll() } }

    /// The extra pull requests.
    var all: [Int64: JSONValue] { extra.withLock { $0 } }
}
