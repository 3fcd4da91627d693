import Foundation
import HTTPTypes
import JSON
import Postgres
import Registry
import Testing

/// What the deployment and feedback routes store: JSON as JSON, no text cut at
/// a NUL, one live entry however often a version is redeployed, one actual per
/// instance in a batch.
@Suite("deployments and feedback: what is stored", .tags(.routes))
struct DeploymentHistoryRouteTests {
    static let admin: HTTPFields = [.authorization: "Bearer \(ServingFixture.adminToken)"]

    @Test("GET /deployments answers metrics and gates as JSON objects and arrays, not JSON text in strings")
    func deploymentsAreJSON() async throws {
        try await ServingRouteTests.withServing { client, _ in
            let reply = try await client.send(.get, "/deployments")
            let first = try #require(reply.json.arrayValue?.first)
            #expect(first["metrics"]?.objectValue?["rmse"]?.doubleValue != nil, "\(reply.text)")
            #expect(first["gates"]?.arrayValue != nil, "\(reply.text)")
            #expect(first["kind"]?.stringValue == "deploy")
        }
    }

    @Test("a version holding a NUL is a 422 naming the field, not a deployment of the text before it")
    func nulInVersion() async throws {
        try await ServingRouteTests.withServing { client, fixture in
            let live = try #require(try await client.send(.get, "/deployments").json.arrayValue?.first?["version"])
            let version = try #require(live.stringValue)
            let body = #"{"version": "\#(version)\u0000junk"}"#
            let reply = try await client.send(.post, "/deployments", body: body, headers: Self.admin)
            #expect(reply.status == 422, "\(reply.text)")
            #expect(reply.problems["version"]?.contains("NUL") == true, "\(reply.problems)")
            let count = try await fixture.database.query("SELECT count(*)::int AS n FROM deployments").first?.decode(
                "n", as: Int.self)
            #expect(count == 1, "nothing was deployed")
        }
    }

    @Test("redeploying the live version changes nothing, and a rollback still goes back to the one before")
    func redeployLiveThenRollBack() async throws {
        try await ServingRouteTests.withServing { client, fixture in
            let v1 = try #require(
                try await client.send(.get, "/deployments").json.arrayValue?.first?["version"]?.stringValue)
            let v2 = try await fixture.deploy(
                manifest: ServingData.regressionManifest, csv: ServingData.regressionCSV, pr: 2)
            let again = try await client.send(
                .post, "/deployments", body: #"{"version": "\#(v2)"}"#, headers: Self.admin)
            #expect(again.status == 200, "\(again.text)")
            #expect(again.json["unchanged"] != nil)
            let rollback = try await client.send(.post, "/deployments/rollback", headers: Self.admin)
            #expect(rollback.status == 202)
            #expect(rollback.json["rolled_back_to"]?.stringValue == v1, "\(rollback.text)")
        }
    }

    @Test("history written before the fix (the live version deployed twice) still rolls back to the earlier one")
    func duplicateHistoryCollapses() async throws {
        try await ServingRouteTests.withServing { client, fixture in
            let v1 = try #require(
                try await client.send(.get, "/deployments").json.arrayValue?.first?["version"]?.stringValue)
            let v2 = try await fixture.deploy(
                manifest: ServingData.regressionManifest, csv: ServingData.regressionCSV, pr: 2)
            try await fixture.database.transaction { connection in
                try Deployments.record(connection, model: "shapes", version: v2, reason: "again", kind: .deploy)
            }
            let rollback = try await client.send(.post, "/deployments/rollback", headers: Self.admin)
            #expect(rollback.json["rolled_back_to"]?.stringValue == v1, "\(rollback.text)")
        }
    }

    @Test(
        "feedback with a NUL in a text field is a 422 naming it (JSON and CSV), never a 500",
        arguments: [
            (#"{"request_id": "abc\u0000def", "actual": 1}"#, "application/json", "request_id"),
            (#"{"feedback": [{"request_id": "abc", "actual": "x\u0000"}]}"#, "application/json", "feedback[0].actual"),
            ("request_id,actual\nab\u{0}c,1\n", "text/csv", "line 2: request_id"),
        ])
    func nulInFeedback(_ body: String, _ contentType: String, _ field: String) async throws {
        try await ServingRouteTests.withServing { client, _ in
            let reply = try await client.send(.post, "/feedback", body: body, contentType: contentType)
            #expect(reply.status == 422, "\(reply.text)")
            #expect(reply.problems[field]?.contains("NUL") == true, "\(reply.problems)")
        }
    }

    @Test("a feedback batch naming one prediction twice records the first and calls the second a duplicate")
    func duplicateInOneBatch() async throws {
        try await ServingRouteTests.withServing { client, fixture in
            let predicted = try await client.send(.post, "/predict", body: ServingRouteTests.valid)
            let requestID = try #require(predicted.json["request_id"]?.stringValue)
            _ = try await eventually(timeout: 30, "the prediction logged") {
                try await fixture.database.query(
                    "SELECT 1 AS one FROM prediction_log WHERE request_id = \(requestID)"
                ).first
            }
            let body =
                #"{"feedback": [{"request_id": "\#(requestID)", "actual": 1}, {"request_id": "\#(requestID)", "actual": 2}]}"#
            let reply = try await client.send(.post, "/feedback", body: body)
            #expect(reply.json["recorded"]?.integerValue == 1, "\(reply.text)")
            #expect(reply.json["duplicate"]?.integerValue == 1, "\(reply.text)")
            let stored = try await fixture.database.query(
                "SELECT actual::text AS actual FROM prediction_feedback WHERE request_id = \(requestID)")
            #expect(stored.count == 1)
        }
    }

    @Test("a route's own body limit holds: /feedback takes more than the service's MAX_BODY_BYTES, /predict does not")
    func bodyLimitPerRoute() async throws {
        try await ServingRouteTests.withServing { client, _ in
            // 8 KiB, over this service's 4 KiB MAX_BODY_BYTES and well under /feedback's 16 MiB.
            let items = (0..<150).map { #"{"request_id": "no-such-request-\#($0)", "actual": 1}"# }
            let feedback = #"{"feedback": [\#(items.joined(separator: ","))]}"#
            #expect(feedback.utf8.count > 4096)
            let reply = try await client.send(.post, "/feedback", body: feedback)
            #expect(reply.status == 200, "\(reply.status) \(reply.text.prefix(300))")
            #expect(reply.json["unknown"]?.integerValue == 150)
            let predict = try await client.send(
                .post, "/predict",
                body: #"{"a": 2, "b": 3, "colour": "red", "pad": "\#(String(repeating: "x", count: 5000))"}"#)
            #expect(predict.status == 413, "\(predict.text)")
        }
    }
}
