import Foundation
import JSON
import Postgres
import Testing

/// `gates.shadow`: before a candidate that passed its gates is deployed, it
/// answers the live model's last logged requests in the trainer, and the run
/// records how differently.
@Suite("trainer: shadow replay of logged requests before deploy", .serialized)
struct ShadowReplayTests {
    static func manifest(trees: Int, shadow: String?) -> String {
        """
        name: sides
        task: classification
        data: {path: sides.csv, split: {test_fraction: 0.25}}
        target: label
        features:
          - {name: x, type: numeric}
          - {name: y, type: numeric}
        model: {algorithm: random_forest, params: {trees: \(trees), max_depth: 6}}
        \(shadow.map { "gates:\n  shadow: \($0)" } ?? "")

        """
    }

    static func write(_ repo: URL, flipped: Bool, trees: Int, shadow: String?) throws {
        try ServingData.classificationCSV(flipped: flipped).write(
            to: repo.appendingPathComponent("sides.csv"), atomically: true, encoding: .utf8)
        try manifest(trees: trees, shadow: shadow).write(
            to: repo.appendingPathComponent("conveyor.yaml"), atomically: true, encoding: .utf8)
    }

    @Test(
        "a classifier retrained on flipped labels passes its own gates but is rejected by gates.shadow; a slight change passes"
    )
    func flippedLabelsRejected() async throws {
        let trio = try await Trio()
        do {
            _ = try await trio.get("\(trio.vcsURL)/checkout")
            _ = try await trio.waitForServedPR(1)
            try trio.mergePullRequest(title: "a classifier") {
                try Self.write($0, flipped: false, trees: 20, shadow: nil)
            }
            _ = try await trio.get("\(trio.vcsURL)/checkout")
            let live = try #require(try await trio.waitForServedPR(2)["version"]?.stringValue)

            // Real traffic for the live classifier: 300 instances in 6 requests.
            for batch in 0..<6 {
                let instances = (0..<50).map { index -> String in
                    let i = batch * 50 + index
                    return "{\"x\": \(Double((i * 13) % 100) / 100), \"y\": \(Double((i * 29) % 100) / 100)}"
                }
                let (status, body) = try await trio.post(
                    "\(trio.servingURL)/predict", body: "{\"instances\": [\(instances.joined(separator: ","))]}")
                #expect(status == 200, "\(body)")
            }
            let database = PostgresClient(url: trio.databaseURL, maxConnections: 1)
            defer { Task { await database.shutdown() } }
            _ = try await eventually(timeout: 20, "the 300 instances to be logged") {
                let rows = try await database.query(
                    "SELECT coalesce(sum(instances), 0)::int AS n FROM prediction_log WHERE model_version = \(live)")
                return try rows.first?.decode("n", as: Int.self) == 300 ? true : nil
            }

            let gate = "{requests: 250, max_label_disagreement: 0.2, max_failure_share: 0.01}"
            try trio.mergePullRequest(title: "labels flipped") {
                try Self.write($0, flipped: true, trees: 20, shadow: gate)
            }
            _ = try await trio.get("\(trio.vcsURL)/checkout")
            let flipped = try await TrainerTests.finishedRun(trio, pr: 3)
            #expect(flipped["status"]?.stringValue == "rejected", "\(flipped)")
            #expect(flipped["reason"]?.stringValue?.contains("shadow label_disagreement") == true, "\(flipped)")
            #expect(flipped["shadow"]?["live_version"]?.stringValue == live)
            #expect(flipped["shadow"]?["requests"]?.integerValue == 250)
            #expect(flipped["shadow"]?["failures"]?.integerValue == 0)
            let disagreement = try #require(flipped["shadow"]?["label_disagreement"]?.doubleValue)
            #expect(disagreement > 0.8, "the flipped model disagrees with the live one on most requests")
            // Its own gates passed: on its (flipped) test split it is as accurate as the live model.
            #expect(flipped["metrics"]?["accuracy"]?.doubleValue ?? 0 > 0.8, "\(flipped)")
            let (_, serving) = try await trio.get("\(trio.servingURL)/")
            #expect(serving["version"]?.stringValue == live, "the live model keeps serving")

            try trio.mergePullRequest(title: "a few more trees") {
                try Self.write($0, flipped: false, trees: 24, shadow: gate)
            }
            _ = try await trio.get("\(trio.vcsURL)/checkout")
            let slight = try await TrainerTests.finishedRun(trio, pr: 4)
            #expect(slight["status"]?.stringValue == "succeeded", "\(slight)")
            let slightDisagreement = try #require(slight["shadow"]?["label_disagreement"]?.doubleValue)
            #expect(slightDisagreement < 0.2)
            #expect(slight["shadow"]?["mean_probability_shift"]?.doubleValue ?? 1 < 0.2)
            #expect(
                slight["gates"]?.arrayValue?.contains { $0["gate"]?.stringValue == "shadow.max_label_disagreement" }
                    == true)
        } catch {
            Issue.record("\(error)\n\(trio.logs())")
        }
        _ = await trio.stop()
    }
}
