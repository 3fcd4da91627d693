import Foundation
import JSON
import Testing

/// The framework's seed example (`deploy/example-wiki`: a `main.py` with
/// train, predict, evaluate and info) merged into the example repository
/// goes through the whole trio: vcs sees the merge, the trainer trains it in
/// the sandbox and gates it, and serving, which shares no environment with
/// the trainer, builds one from the frozen requirements and serves it.
@Suite("Python models: a merged main.py, trained and served by the trio", .serialized)
struct PythonMergeTests {
    @Test("the wiki example merged as PR #2 serves its forecast, with its info and reported metrics")
    func wikiExampleMergedToServed() async throws {
        let trio = try await Trio(
            servingSettings: [
                "PYTHON_ENVIRONMENTS": FileManager.default.temporaryDirectory.appendingPathComponent(
                    "conveyor-merge-serving-environments-\(UUID().uuidString.prefix(6))"
                ).path
            ])
        do {
            _ = try await trio.get("\(trio.vcsURL)/checkout")
            _ = try await trio.waitForServedPR(1, timeout: 45)
            let example = Trio.repositoryRoot.appendingPathComponent("deploy/example-wiki")
            try trio.mergePullRequest(title: "Bring our own Python model") { repo in
                for name in ["conveyor.yaml", "main.py", "requirements.txt", "data"] {
                    try? FileManager.default.removeItem(at: repo.appendingPathComponent(name))
                    try FileManager.default.copyItem(
                        at: example.appendingPathComponent(name), to: repo.appendingPathComponent(name))
                }
            }
            _ = try await trio.get("\(trio.vcsURL)/checkout")
            let served = try await trio.waitForServedPR(2, timeout: 600)
            #expect(served["format"]?.stringValue == "python", "\(served)")
            #expect(served["python"]?["module"]?.stringValue == "main.py")
            #expect(served["python"]?["reported_metrics"]?.objectValue?.isEmpty == false, "\(served)")
            #expect(served["python"]?["info"]?.objectValue?.isEmpty == false, "\(served)")
            #expect((served["metrics"]?["rmse"]?.doubleValue ?? .infinity) < 6, "\(served)")
            let (status, answer) = try await trio.post("\(trio.servingURL)/predict", body: #"{"horizon": 14}"#)
            #expect(status == 200, "\(answer)")
            let forecast = answer["forecast"]?.arrayValue ?? []
            #expect(forecast.count == 14)
            #expect(forecast.allSatisfy { ($0["value"]?.doubleValue).map { $0 > -30 && $0 < 50 } == true })
        } catch {
            Issue.record("\(error)\n\(trio.logs())")
        }
        _ = await trio.stop()
    }
}
