import Foundation
import HTTPTypes
import Hummingbird
import JSON
import Logging
import Postgres
import ServiceKit
import Testing

@testable import ServingService

/// `serving`'s routes driven in-process (`router.test`) against a real
/// Postgres with a real trained model: every route's error cases, fast.
@Suite("serving routes in-process: validation, errors, admin, content types", .tags(.routes))
struct ServingRouteTests {
    /// A router serving `manifest` trained on `csv` (the `shapes` regression model) with small
    /// limits, the prediction log running as the application's service.
    static func withServing(
        adminToken: String? = ServingFixture.adminToken, manifest: String = ServingData.regressionManifest,
        csv: String = ServingData.regressionCSV, maxBodyBytes: Int = 4096,
        _ body: @Sendable (RouteClient, ServingFixture) async throws -> Void
    ) async throws {
        let fixture = try await ServingFixture()
        try await fixture.deploy(manifest: manifest, csv: csv, pr: 1)
        let configuration = ServingConfiguration(
            logLevel: .info, databaseURL: fixture.databaseURL, artifactsDirectory: fixture.artifacts, port: 0,
            server: .init(),
            adminToken: adminToken, pollInterval: .seconds(60), maxBodyBytes: maxBodyBytes, maxInstances: 50,
            spillDirectory: fixture.directory.appendingPathComponent("spill"))
        let parts = try ServingApp.Parts(
            configuration: configuration, database: fixture.database, logger: Logger(label: "test"))
        await parts.watcher.refresh()
        #expect(parts.store.model != nil, "the deployed model loads")
        try await parts.router.test(services: [parts.log]) { client in try await body(client, fixture) }
        await fixture.shutdown()
    }

    static let valid = #"{"a": 2, "b": 3, "colour": "red"}"#

    @Test(
        "each invalid body is a 4xx JSON error naming its field",
        arguments: [
            (#"{"a": 2, "colour": "red"}"#, 422, "b", "required"),
            (#"{"a": "two", "b": 1, "colour": "red"}"#, 422, "a", "string"),
            (#"{"a": 1000, "b": 1, "colour": "red"}"#, 422, "a", "100"),
            (#"{"a": 1, "b": 1, "colour": "purple"}"#, 422, "colour", "categor"),
            (#"{"a": [1], "b": 1, "colour": "red"}"#, 422, "a", "array"),
            (#"{"instances": {"a": 1}}"#, 422, "instances", "array"),
            (#"{"instances": []}"#, 422, "instances", "1 to 50"),
            (#"{"instances": [{"a": 1, "b": 1, "colour": "red"}, 7]}"#, 422, "instances[1]", "object"),
            (
                #"{"instances": [{"a": 1, "b": 1, "colour": "red"}, {"a": 1, "b": 1, "colour": "mauve"}]}"#, 422,
                "instances[1].colour", "categor"
            ),
        ])
    func invalidBodies(_ body: String, _ status: Int, _ field: String, _ contains: String) async throws {
        try await Self.withServing { client, _ in
            let reply = try await client.send(.post, "/predict", body: body)
            #expect(reply.status == status, "\(body) → \(reply.status) \(reply.text)")
            #expect(reply.json["error"]?["status"]?.integerValue == Int64(status))
            #expect(
                reply.problems[field]?.localizedCaseInsensitiveContains(contains) == true,
                "\(body): problems \(reply.problems)")
            #expect(try await client.send(.post, "/predict", body: Self.valid).status == 200)
        }
    }

    @Test("a valid body predicts; several problems at once are all listed; broken, huge and too many are refused")
    func predictions() async throws {
        try await Self.withServing { client, _ in
            let ok = try await client.send(.post, "/predict", body: Self.valid)
            #expect(ok.status == 200)
            let value = try #require(ok.json["prediction"]?.doubleValue)
            #expect(abs(value - (3 * 2 - 2 * 3 + 5)) < 0.05, "prediction \(value)")
            #expect(ok.json["request_id"]?.stringValue?.isEmpty == false)

            let many = try await client.send(.post, "/predict", body: #"{"a": "x", "colour": "purple"}"#)
            #expect(Set(many.problems.keys) == ["a", "b", "colour"])
            for (body, status) in [("{not json", 400), ("[1, 2]", 400)] {
                let reply = try await client.send(.post, "/predict", body: body)
                #expect(reply.status == status)
                #expect(reply.message?.isEmpty == false)
            }
            let big = "{\"a\": 1, \"b\": 1, \"colour\": \"red\", \"pad\": \"\(String(repeating: "x", count: 5000))\"}"
            #expect(try await client.send(.post, "/predict", body: big).status == 413)
            let tooMany =
                "{\"instances\": ["
                + Array(repeating: #"{"a":1,"b":1,"colour":"red"}"#, count: 51)
                .joined(separator: ",") + "]}"
            let manyReply = try await client.send(.post, "/predict", body: tooMany)
            #expect(manyReply.status == 422)
            #expect(manyReply.problems["instances"]?.contains("got 51") == true)
            #expect(try await client.send(.post, "/predict", body: Self.valid).status == 200)
        }
    }

    @Test("a prediction's request id is its log line's, its X-Request-Id and its prediction_log row's")
    func requestIDsAreShared() async throws {
        try await Self.withServing { client, fixture in
            let reply = try await client.send(
                .post, "/predict", body: "a,b,colour\n1,2,red\n", contentType: "text/csv")
            #expect(reply.status == 200)
            let id = try #require(reply.headers[.xRequestID])
            let logged = try await eventually(timeout: 10, "the prediction_log row") {
                try await fixture.database.query(
                    "SELECT model_version FROM prediction_log WHERE request_id = \(id)"
                ).first?.decode("model_version", as: String.self)
            }
            #expect(logged == reply.headers[.xModelVersion])
        }
    }

    @Test(
        "CSV problems name the header or the row and line",
        arguments: [
            ("a,colour\n1,red\n", "header"), ("a,b,colour\n1,2,red\noops,2,red\n", "rows[1] (line 3).a"),
        ])
    func csvProblems(_ csv: String, _ field: String) async throws {
        try await Self.withServing { client, _ in
            let reply = try await client.send(.post, "/predict", body: csv, contentType: "text/csv")
            #expect(reply.status == 422)
            #expect(reply.problems.keys.contains(field), "\(reply.problems)")
        }
    }

    @Test(
        "v2 errors use the protocol's shape and name the tensor field",
        arguments: [
            ("/v2/models/shapes/infer", #"{"inputs": []}"#, 422, "inputs"),
            ("/v2/models/other/infer", #"{"inputs": []}"#, 404, ""),
            (
                "/v2/models/shapes/infer",
                #"{"inputs":[{"name":"x","shape":[4294967296,4294967296],"datatype":"FP64","data":[]}]}"#, 422,
                "inputs[0].shape"
            ),
            (
                "/v2/models/shapes/infer", #"{"inputs":[{"name":"a","shape":[2],"datatype":"FP64","data":[1]}]}"#,
                422, "inputs[0].data"
            ),
            ("/v2/models/shapes/infer", "not json", 400, ""),
        ])
    func inferenceErrors(_ uri: String, _ body: String, _ status: Int, _ field: String) async throws {
        try await Self.withServing { client, _ in
            let reply = try await client.send(.post, uri, body: body)
            #expect(reply.status == status, "\(reply.text)")
            #expect(reply.json["error"]?.stringValue?.isEmpty == false, "v2 errors are {\"error\": \"...\"}")
            if !field.isEmpty { #expect(reply.problems.keys.contains(field), "\(reply.problems)") }
            #expect(try await client.send(.get, "/v2/health/live").status == 200, "the service keeps answering")
        }
    }

    @Test(
        "rollback needs the admin token; the Bearer scheme is case-insensitive",
        arguments: [
            (nil, 401), ("Bearer wrong", 401), ("Basic \(ServingFixture.adminToken)", 401),
            ("Bearer \(ServingFixture.adminToken)", 409), ("bearer \(ServingFixture.adminToken)", 409),
            ("BEARER \(ServingFixture.adminToken)", 409),
        ] as [(String?, Int)])
    func adminToken(_ authorization: String?, _ status: Int) async throws {
        try await Self.withServing { client, _ in
            var headers: HTTPFields = [:]
            if let authorization { headers[.authorization] = authorization }
            // 409: authorized, but one deployment has nothing earlier to roll back to.
            let reply = try await client.send(.post, "/deployments/rollback", headers: headers)
            #expect(reply.status == status, "\(reply.text)")
            #expect(reply.message?.isEmpty == false)
        }
    }

    @Test("a second rollback goes further back (v3 → v2 → v1), then 409")
    func rollbackWalksBack() async throws {
        try await Self.withServing { client, fixture in
            let v2 = try await fixture.deploy(
                manifest: ServingData.regressionManifest, csv: ServingData.regressionCSV, pr: 2)
            _ = try await fixture.deploy(
                manifest: ServingData.regressionManifest, csv: ServingData.regressionCSV, pr: 3)
            let v1 = try #require(
                try await fixture.database.query("SELECT version FROM deployments ORDER BY id LIMIT 1").first?.decode(
                    "version", as: String.self))
            let admin: HTTPFields = [.authorization: "Bearer \(ServingFixture.adminToken)"]
            let first = try await client.send(.post, "/deployments/rollback", headers: admin)
            #expect(first.status == 202)
            #expect(first.json["rolled_back_to"]?.stringValue == v2)
            let second = try await client.send(.post, "/deployments/rollback", headers: admin)
            #expect(second.json["rolled_back_to"]?.stringValue == v1, "further back, not forward to v3")
            let third = try await client.send(.post, "/deployments/rollback", headers: admin)
            #expect(third.status == 409)
            #expect(third.message?.contains("no earlier version") == true)
        }
    }

    @Test("admin routes answer 403 when ADMIN_TOKEN is not set")
    func adminDisabled() async throws {
        try await Self.withServing(adminToken: nil) { client, _ in
            let reply = try await client.send(
                .post, "/deployments/rollback", headers: [.authorization: "Bearer anything"])
            #expect(reply.status == 403)
        }
    }

    @Test("an unknown path is a JSON 404; a known path with another method is a 405 naming the allowed ones")
    func unknownRoutes() async throws {
        try await Self.withServing { client, _ in
            let missing = try await client.send(.get, "/nowhere")
            #expect(missing.status == 404)
            #expect(missing.json["error"]?["status"]?.integerValue == 404)
            let wrongMethod = try await client.send(.get, "/feedback")
            #expect(wrongMethod.status == 405)
            #expect(wrongMethod.headers[.allow] == "POST")
            #expect(wrongMethod.json["error"]?["status"]?.integerValue == 405)
        }
    }

    @Test("the API document lists exactly the routes the router serves")
    func documentMatchesRoutes() async throws {
        try await Self.withServing { client, _ in
            let document = try await client.send(.get, "/openapi.json").json
            let paths = try #require(document["paths"]?.objectValue)
            for path in ["/predict", "/v2/models/{name}/infer", "/deployments/rollback", "/health/ready", "/docs"] {
                #expect(paths[path] != nil, "\(path) is documented")
            }
            #expect(paths["/deployments/rollback"]?["post"]?["responses"]?["202"] != nil)
            let schema = paths["/predict"]?["post"]?["requestBody"]?["content"]?["application/json"]?["schema"]
            let instances = schema?["oneOf"]?.arrayValue?.last?["properties"]?["instances"]
            #expect(instances?["maxItems"]?.integerValue == 50)
            #expect(instances?["minItems"]?.integerValue == 1)
            // Every documented operation answers something other than 404/405 in-process.
            for (path, item) in paths where !path.contains("{") {
                for method in item.objectValue?.keys ?? [:].keys {
                    let reply = try await client.send(HTTPRequest.Method(method.uppercased())!, path)
                    #expect(![404, 405].contains(reply.status), "\(method) \(path) → \(reply.status)")
                }
            }
        }
    }
}

extension Tag {
    /// Tests that drive a service's router in-process.
    @Tag static var routes: Self
}

extension ServingRouteTests {
    @Test(
        "a non-finite prediction is a 422 on every route, never a 200 with null or a 500",
        arguments: [
            ("/predict", #"{"a": 1, "b": 1e308, "colour": "red"}"#, "application/json", "prediction"),
            (
                "/predict", #"{"instances": [{"a": 1, "b": 1e308, "colour": "red"}]}"#, "application/json",
                "instances[0].prediction"
            ),
            ("/predict", "a,b,colour\n1,1e308,red\n", "text/csv", "rows[0] (line 2).prediction"),
            (
                "/v2/models/shapes/infer",
                #"{"inputs": [{"name": "input-0", "shape": [1, 3], "datatype": "BYTES", "data": [1, 1e308, "red"]}]}"#,
                "application/json", "instance 0: prediction"
            ),
        ])
    func nonFinitePredictions(_ uri: String, _ body: String, _ contentType: String, _ field: String) async throws {
        try await Self.withServing { client, fixture in
            let reply = try await client.send(.post, uri, body: body, contentType: contentType)
            #expect(reply.status == 422, "\(reply.text)")
            #expect(reply.problems.keys.contains(field), "\(reply.problems)")
            // Nothing that was not served is logged.
            try await Task.sleep(for: .milliseconds(200))
            let logged = try await fixture.database.query("SELECT count(*)::int AS n FROM prediction_log")
            #expect(try logged.first?.decode("n", as: Int.self) == 0)
        }
    }
}
