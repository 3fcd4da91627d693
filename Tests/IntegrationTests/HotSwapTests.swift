import Foundation
import HTTPClient
import Synchronization
import Testing

@Suite("serving: hot swaps under load", .serialized)
struct HotSwapTests {
    @Test("ten deployments swap in during concurrent predictions with zero failed requests")
    func tenSwapsUnderLoad() async throws {
        let trio = try await Trio()
        let sample = try String(
            contentsOf: Trio.repositoryRoot.appendingPathComponent("deploy/example-model/sample-request.json"),
            encoding: .utf8)
        let counts = LoadCounts()
        let stop = StopFlag()
        do {
            _ = try await trio.get("\(trio.vcsURL)/checkout")
            _ = try await trio.waitForServedPR(1)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        while !stop.isSet {
                            let (status, body) = try await trio.post("\(trio.servingURL)/predict", body: sample)
                            counts.state.withLock { counts in
                                if status == 200, body["prediction"]?.doubleValue != nil,
                                    let version = body["model_version"]?.stringValue
                                {
                                    counts.ok += 1
                                    counts.versions.insert(version)
                                } else {
                                    counts.failed += 1
                                }
                            }
                        }
                    }
                }
                group.addTask {
                    defer { stop.set() }
                    for number in 2...11 {
                        try await Trio.exampleRepo("merge-next", trio.modelRepository)
                        _ = try await trio.get("\(trio.vcsURL)/checkout")
                        _ = try await trio.waitForServedPR(Int64(number), timeout: 30)
                    }
                }
                try await group.waitForAll()
            }
            let final = counts.state.withLock { $0 }
            #expect(final.failed == 0)
            #expect(final.ok > 100, "only \(final.ok) predictions were made during the swaps")
            #expect(final.versions.count >= 5, "answers came from \(final.versions.count) versions")
            let (_, deployments) = try await trio.get("\(trio.servingURL)/deployments")
            #expect(deployments.arrayValue?.count == 11)
        } catch {
            stop.set()
            Issue.record("\(error)\n\(trio.logs())")
        }
        _ = await trio.stop()
    }
}

/// Outcomes of the load generator's requests.
final class LoadCounts: Sendable {
    let state = Mutex((ok: 0, failed: 0, versions: Set<String>()))
}

/// Tells the load generator to stop.
final class StopFlag: Sendable {
    private let flag = Atomic(false)
    var isSet: Bool { flag.load(ordering: .relaxed) }
    func set() { flag.store(true, ordering: .relaxed) }
}
