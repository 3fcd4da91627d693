import Foundation
import HTTPClient
import Postgres
import Testing

@Suite("The trio end to end", .serialized)
struct EndToEndTests {
    @Test("a merged PR reaches serving, and the next merged PR hot-swaps it without a restart")
    func mergedPullRequestsReachServing() async throws {
        let trio = try await Trio()
        do {
            try await scenario(trio)
        } catch {
            Issue.record("\(error)\n\(trio.logs())")
        }
        let statuses = await trio.stop()
        for (name, status) in statuses {
            #expect(status == 0, "\(name) did not stop cleanly on SIGTERM (status \(String(describing: status)))")
        }
    }

    private func scenario(_ trio: Trio) async throws {
        let sample = try String(
            contentsOf: Trio.repositoryRoot.appendingPathComponent("deploy/example-model/sample-request.json"),
            encoding: .utf8)

        // Nothing deployed yet: serving is up but not ready, and says why.
        let (notReady, _) = try await trio.get("\(trio.servingURL)/health/ready")
        #expect(notReady == 503)
        let (early, earlyBody) = try await trio.post("\(trio.servingURL)/predict", body: sample)
        #expect(early == 503)
        #expect(earlyBody["error"]?["message"]?.stringValue?.contains("no model") == true)

        // A simulated webhook: sync now. The trainer wakes on NOTIFY (its poll is 60 s).
        let (checkout, summary) = try await trio.get("\(trio.vcsURL)/checkout")
        #expect(checkout == 200)
        #expect(summary["records_upserted"]?.integerValue == 1)
        let first = try await trio.waitForServedPR(1, timeout: 45)
        let firstVersion = try #require(first["version"]?.stringValue)
        #expect(first["features"]?.arrayValue?.count == 1)

        let (ok, prediction) = try await trio.post("\(trio.servingURL)/predict", body: sample)
        #expect(ok == 200)
        #expect(prediction["prediction"]?.doubleValue != nil)
        #expect(prediction["model_version"]?.stringValue == firstVersion)

        // Bad input: clear 4xx errors naming the problem; the service keeps answering.
        let (broken, brokenBody) = try await trio.post("\(trio.servingURL)/predict", body: "{\"temp_min\": ")
        #expect(broken == 400)
        #expect(brokenBody["error"]?["message"]?.stringValue?.contains("not valid JSON") == true)
        let (missing, missingBody) = try await trio.post("\(trio.servingURL)/predict", body: "{\"wind\": 3}")
        #expect(missing == 422)
        #expect(missingBody["error"]?["problems"]?.arrayValue?.first?["field"]?.stringValue == "temp_min")
        let (wrongType, wrongTypeBody) = try await trio.post(
            "\(trio.servingURL)/predict", body: "{\"temp_min\": \"warm\"}")
        #expect(wrongType == 422)
        #expect(
            wrongTypeBody["error"]?["problems"]?.arrayValue?.first?["problem"]?.stringValue?.contains("number") == true)
        let (again, _) = try await trio.post("\(trio.servingURL)/predict", body: sample)
        #expect(again == 200)

        // The next PR changes the model; serving swaps without restarting.
        try await Trio.exampleRepo("merge-next", trio.modelRepository)
        let (secondCheckout, secondSummary) = try await trio.get("\(trio.vcsURL)/checkout")
        #expect(secondCheckout == 200)
        // The new PR, and the one at the inclusive bookmark read again (an idempotent upsert).
        #expect(secondSummary["records_fetched"]?.integerValue == 2)
        #expect(secondSummary["records_upserted"]?.integerValue == 2)
        let second = try await trio.waitForServedPR(2, timeout: 45)
        let secondVersion = try #require(second["version"]?.stringValue)
        #expect(secondVersion != firstVersion)
        #expect(second["features"]?.arrayValue?.count == 4)
        #expect(trio.serving.isRunning)
        let (newer, newerPrediction) = try await trio.post("\(trio.servingURL)/predict", body: sample)
        #expect(newer == 200)
        #expect(newerPrediction["model_version"]?.stringValue == secondVersion)
        #expect(newerPrediction["prediction"]?.doubleValue != prediction["prediction"]?.doubleValue)

        // The API description follows the deployed model's features.
        let (apiStatus, api) = try await trio.get("\(trio.servingURL)/openapi.json")
        #expect(apiStatus == 200)
        let predictSchema = api["paths"]?["/predict"]?["post"]?["requestBody"]?["content"]?["application/json"]?[
            "schema"]
        let required = predictSchema?["oneOf"]?.arrayValue?.first?["required"]?.arrayValue?.compactMap(\.stringValue)
        #expect(required == ["temp_min", "precipitation", "wind", "weather"])
        for url in [trio.vcsURL, trio.trainerURL] {
            let (status, document) = try await trio.get("\(url)/openapi.json")
            #expect(status == 200 && document["openapi"]?.stringValue == "3.1.0", "\(url)/openapi.json")
        }
        let docs = try await trio.http.send(CurlRequest(url: "\(trio.servingURL)/docs"))
        #expect(docs.status == 200 && docs.text.contains("/predict"))
        let metrics = try await trio.http.send(CurlRequest(url: "\(trio.servingURL)/metrics"))
        #expect(metrics.text.contains("conveyor_model_swaps_total"))
        #expect(metrics.text.contains("conveyor_predictions_total"))

        // Every step is on record: runs, deployments, and the predictions served.
        let (runsStatus, runs) = try await trio.get("\(trio.trainerURL)/runs")
        #expect(runsStatus == 200)
        #expect(runs.arrayValue?.compactMap { $0["status"]?.stringValue } == ["succeeded", "succeeded"])
        let (_, deployments) = try await trio.get("\(trio.servingURL)/deployments")
        #expect(deployments.arrayValue?.count == 2)
        let database = PostgresClient(url: trio.databaseURL, maxConnections: 1)
        defer { Task { await database.shutdown() } }
        let logged = try await eventually(timeout: 10, "the prediction log") {
            let rows = try await database.query("SELECT count(*)::int AS n FROM prediction_log")
            let count = try rows.first?.decode("n", as: Int.self) ?? 0
            return count >= 3 ? count : nil
        }
        #expect(logged == 3, "three predictions were answered")
    }
}
