import Foundation
import Logging
import Migrations
import Postgres
import Subprocess
import Testing

@testable import TrainerService

@Suite("trainer: the work directory (mirrors and run checkouts)")
struct TrainerWorkDirectoryTests {
    /// A git repository with one commit holding `marker`; returns it and the commit.
    static func repository(_ marker: String, in parent: URL) throws -> (URL, String) {
        let path = parent.appendingPathComponent("repo-\(marker)")
        try FileManager.default.createDirectory(at: path, withIntermediateDirectories: true)
        try marker.write(to: path.appendingPathComponent("marker.txt"), atomically: true, encoding: .utf8)
        for arguments in [
            ["init", "-q", "-b", "main"], ["add", "."],
            ["-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "-m", marker],
        ] {
            let result = try ChildProcess.run(["git", "-C", path.path] + arguments)
            #expect(result.status == 0, "\(result.stderr)")
        }
        let sha = try ChildProcess.run(["git", "-C", path.path, "rev-parse", "HEAD"]).stdout
        return (path, sha.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    @Test("two repositories sharing a WORK_DIR each get their own mirror: each checkout has its own content")
    func mirrorPerRepository() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("work-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: root) }
        let (first, firstSHA) = try Self.repository("first", in: root)
        let (second, secondSHA) = try Self.repository("second", in: root)
        let work = root.appendingPathComponent("work")
        for (repository, sha, marker) in [(first, firstSHA, "first"), (second, secondSHA, "second")] {
            let checkout = SourceCheckout(repositoryURL: repository.path, token: nil, workDirectory: work)
            let directory = work.appendingPathComponent("run-\(marker)")
            try await checkout.checkout(commit: sha, into: directory)
            let text = try String(contentsOf: directory.appendingPathComponent("marker.txt"), encoding: .utf8)
            #expect(text == marker)
        }
        let mirrors = try FileManager.default.contentsOfDirectory(atPath: work.path).filter { $0.hasSuffix(".git") }
        #expect(mirrors.count == 2, "\(mirrors)")
    }

    @Test("run directories no live run uses are removed at start; a takeover removes earlier attempts' checkouts")
    func staleRunDirectories() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("runs-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: work) }
        for name in ["run-1", "run-2", "run-2-a2", "run-3", "mirror-abc.git", "notes"] {
            try FileManager.default.createDirectory(
                at: work.appendingPathComponent(name), withIntermediateDirectories: true)
        }
        let removed = RunDirectories.removeStale(in: work, active: [3])
        #expect(removed == ["run-1", "run-2", "run-2-a2"])
        let left = try FileManager.default.contentsOfDirectory(atPath: work.path).sorted()
        #expect(left == ["mirror-abc.git", "notes", "run-3"])

        for name in ["run-7", "run-7-a2"] {
            try FileManager.default.createDirectory(
                at: work.appendingPathComponent(name), withIntermediateDirectories: true)
        }
        RunDirectories.removeEarlierAttempts(of: 7, before: 3, in: work)
        #expect(!FileManager.default.fileExists(atPath: work.appendingPathComponent("run-7").path))
        #expect(!FileManager.default.fileExists(atPath: work.appendingPathComponent("run-7-a2").path))
    }
}
