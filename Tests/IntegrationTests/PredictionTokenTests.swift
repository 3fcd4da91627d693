import Foundation
import HTTPClient
import JSON
import Postgres
import Testing

/// Prediction tokens (issue 35, "who may ask"): two real serving replicas on one database with
/// `PREDICT_AUTH=token`; every refusal (missing, unknown, revoked, expired, another model, another
/// scope, over the rate limit) named and counted, a good token answered and named in the prediction
/// log, a revocation on one replica seen by the other within a second, gRPC through Triton's client.
@Suite("Prediction tokens: who may ask", .serialized)
struct PredictionTokenTests {
    static let admin: [(name: String, value: String)] = [("Authorization", "Bearer \(ServingFixture.adminToken)")]

    static func bearer(_ token: String) -> [(name: String, value: String)] { [("Authorization", "Bearer \(token)")] }

    /// Creates a token through replica `url`; returns its secret.
    static func create(_ fixture: ServingFixture, _ url: String, _ body: String) async throws -> String {
        let (status, created) = try await fixture.json("POST", "\(url)/tokens", body: body, headers: admin)
        try #require(status == 201, "\(body): \(status) \(created)")
        let token = try #require(created["token"]?.stringValue)
        #expect(token.hasPrefix("cvt_") && token.count == 47, "\(token.count)")
        return token
    }

    static let row = #"{"a": 1.5, "b": 2.0, "colour": "red"}"#

    /// The status and the refusal's reason (`authorization`'s problem) of `POST /predict` with `headers`.
    static func predict(_ fixture: ServingFixture, _ url: String, _ headers: [(name: String, value: String)])
        async throws -> (Int, String?)
    {
        let (status, body) = try await fixture.json("POST", "\(url)/predict", body: row, headers: headers)
        return (status, body["error"]?["problems"]?.arrayValue?.first?["problem"]?.stringValue)
    }

    @Test("every token case on two replicas; revocation on one seen by the other within a second")
    func tokenCases() async throws {
        let fixture = try await ServingFixture()
        let version = try await fixture.deploy(
            manifest: ServingData.regressionManifest, csv: ServingData.regressionCSV, pr: 1)
        // A long poll interval: what the second replica learns, it learns by NOTIFY.
        let settings = ["PREDICT_AUTH": "token", "POLL_INTERVAL": "120s"]
        let (first, a) = try await fixture.launchServing("serving-tokens-a", settings: settings)
        defer { _ = first.terminate() }
        let (second, b) = try await fixture.launchServing("serving-tokens-b", settings: settings)
        defer { _ = second.terminate() }
        try await fixture.waitForVersion(version, at: a)
        try await fixture.waitForVersion(version, at: b)

        // Admin only; bad bodies named field by field; names never reused.
        let (anonymous, _) = try await fixture.json("POST", "\(a)/tokens", body: #"{"name": "x", "models": ["*"]}"#)
        #expect(anonymous == 401)
        let (invalid, problems) = try await fixture.json(
            "POST", "\(a)/tokens",
            body: #"{"name": "-bad", "models": [], "scopes": ["admin"], "expires_at": "soon", "extra": 1}"#,
            headers: Self.admin)
        let fields = Set(problems["error"]?["problems"]?.arrayValue?.compactMap { $0["field"]?.stringValue } ?? [])
        #expect(invalid == 422 && fields == ["name", "models", "scopes", "expires_at", "extra"], "\(problems)")

        let reader = try await Self.create(fixture, a, #"{"name": "reader", "models": ["shapes"]}"#)
        let other = try await Self.create(fixture, a, #"{"name": "other", "models": ["another-model"]}"#)
        let feeder = try await Self.create(
            fixture, a, #"{"name": "feeder", "models": ["*"], "scopes": ["feedback"]}"#)
        let expired = try await Self.create(
            fixture, a, #"{"name": "expired", "models": ["shapes"], "expires_at": "2020-01-01T00:00:00Z"}"#)
        let limited = try await Self.create(
            fixture, a, #"{"name": "limited", "models": ["*"], "rate_limit_per_second": 0.01}"#)
        let (taken, _) = try await fixture.json(
            "POST", "\(a)/tokens", body: #"{"name": "reader", "models": ["*"]}"#, headers: Self.admin)
        #expect(taken == 409)

        // Both replicas know the new tokens (NOTIFY).
        for url in [a, b] {
            _ = try await eventually(timeout: 10, "\(url) accepting the reader's token") {
                try await Self.predict(fixture, url, Self.bearer(reader)).0 == 200 ? true : nil
            }
        }
        let cases: [(String, [(name: String, value: String)], Int, String)] = [
            ("no token", [], 401, "missing"), ("not a bearer", [("Authorization", "Basic eDp5")], 401, "missing"),
            ("unknown", Self.bearer("cvt_" + String(repeating: "A", count: 43)), 401, "unknown"),
            ("expired", Self.bearer(expired), 401, "expired"), ("another model", Self.bearer(other), 403, "model"),
            ("feedback only", Self.bearer(feeder), 403, "scope"),
        ]
        for (name, headers, status, reason) in cases {
            let (got, why) = try await Self.predict(fixture, a, headers)
            #expect(got == status && why == reason, "\(name): \(got) \(why ?? "-")")
        }
        let challenge = try await fixture.request("POST", "\(a)/predict", body: Self.row)
        #expect(challenge.header(.wwwAuthenticate) == "Bearer")

        // The rate limit: the bucket holds one request; the next is a 429 with Retry-After.
        #expect(try await Self.predict(fixture, a, Self.bearer(limited)).0 == 200)
        let throttled = try await fixture.request("POST", "\(a)/predict", body: Self.row, headers: Self.bearer(limited))
        #expect(throttled.status.code == 429 && Int(throttled.header(.retryAfter) ?? "") ?? 0 >= 1)

        // The v2 route, in the protocol's error shape; feedback needs the feedback scope.
        let infer =
            #"{"inputs": [{"name": "a", "shape": [1], "datatype": "FP64", "data": [1.5]}, {"name": "b", "shape": [1], "datatype": "FP64", "data": [2.0]}, {"name": "colour", "shape": [1], "datatype": "BYTES", "data": ["red"]}]}"#
        let (v2Refused, v2Body) = try await fixture.json("POST", "\(a)/v2/models/shapes/infer", body: infer)
        #expect(v2Refused == 401 && v2Body["error"]?.stringValue?.contains("token is required") == true, "\(v2Body)")
        let (v2OK, _) = try await fixture.json(
            "POST", "\(a)/v2/models/shapes/infer", body: infer, headers: Self.bearer(reader))
        #expect(v2OK == 200)
        let (predicted, answer) = try await fixture.json(
            "POST", "\(a)/predict", body: Self.row, headers: Self.bearer(reader))
        let requestID = try #require(answer["request_id"]?.stringValue, "\(predicted) \(answer)")
        let feedback = #"{"request_id": "\#(requestID)", "actual": 3.0}"#
        let (readerFeedback, _) = try await fixture.json(
            "POST", "\(a)/feedback", body: feedback, headers: Self.bearer(reader))
        #expect(readerFeedback == 403)
        let (fed, fedBody) = try await fixture.json(
            "POST", "\(a)/feedback", body: feedback, headers: Self.bearer(feeder))
        #expect(fed == 201 || fed == 200, "\(fedBody)")

        // The prediction log names the token; the metrics count refusals by reason; no log line holds a secret.
        let named = try await eventually(timeout: 20, "the prediction's log row") {
            let rows = try await fixture.database.query(
                "SELECT token_name FROM prediction_log WHERE request_id = \(requestID)")
            return rows.first.map { (try? $0.decodeIfPresent("token_name", as: String.self)) ?? nil }
        }
        #expect(named == "reader")
        let metrics = String(decoding: try await fixture.request("GET", "\(a)/metrics").body, as: UTF8.self)
        for reason in ["missing", "unknown", "expired", "model", "scope", "rate_limited"] {
            #expect(
                metrics.contains(#"conveyor_prediction_auth_refusals_total{reason="\#(reason)"}"#),
                "\(reason) counted")
        }
        for secret in [reader, other, feeder, expired, limited] {
            for log in [first.logFile, second.logFile] {
                #expect(!(try String(contentsOf: log, encoding: .utf8)).contains(secret), "a secret in \(log.path)")
            }
        }

        // Listed without secrets; used tokens stamped (in batches, not per request).
        let stamped = try await eventually(timeout: 30, "the reader's last use recorded") {
            let (_, list) = try await fixture.json("GET", "\(a)/tokens", headers: Self.admin)
            let entry = list.arrayValue?.first { $0["name"]?.stringValue == "reader" }
            return entry?["last_used_at"]?.stringValue != nil ? list : nil
        }
        let listed = "\(stamped)"
        #expect(!listed.contains(reader) && !listed.contains("sha256"), "\(listed)")
        #expect(stamped.arrayValue?.first { $0["name"]?.stringValue == "expired" }?["state"]?.stringValue == "expired")

        // Revoked on replica A: replica B refuses the token within a second.
        #expect(try await Self.predict(fixture, b, Self.bearer(reader)).0 == 200)
        let (revoked, _) = try await fixture.json("DELETE", "\(a)/tokens/reader", headers: Self.admin)
        #expect(revoked == 200)
        let start = ContinuousClock.now
        let reason = try await eventually(timeout: 10, interval: 0.02, "replica B refusing the revoked token") {
            let (status, why) = try await Self.predict(fixture, b, Self.bearer(reader))
            return status == 401 ? why : nil
        }
        let seen = ContinuousClock.now - start
        print("revocation seen by the second replica after \(seen)")
        #expect(reason == "revoked")
        #expect(seen < .seconds(1), "revocation reached replica B after \(seen)")
        let (again, _) = try await fixture.json("DELETE", "\(a)/tokens/reader", headers: Self.admin)
        let (unknown, _) = try await fixture.json("DELETE", "\(a)/tokens/nobody", headers: Self.admin)
        #expect(again == 409 && unknown == 404)
        await fixture.shutdown()
    }

    @Test("gRPC ModelInfer: refused without a token or with another model's, answered with a good one")
    func grpc() async throws {
        let fixture = try await ServingFixture()
        let version = try await fixture.deploy(
            manifest: ServingData.regressionManifest, csv: ServingData.regressionCSV, pr: 1)
        let port = try FreePort.find()
        let (process, url) = try await fixture.launchServing(
            "serving-tokens-grpc", settings: ["PREDICT_AUTH": "token", "GRPC_PORT": "\(port)"])
        defer { _ = process.terminate() }
        try await fixture.waitForVersion(version, at: url)
        let good = try await Self.create(fixture, url, #"{"name": "grpc-reader", "models": ["shapes"]}"#)
        let other = try await Self.create(fixture, url, #"{"name": "grpc-other", "models": ["elsewhere"]}"#)
        _ = try await eventually(timeout: 10, "the token known") {
            try await Self.predict(fixture, url, Self.bearer(good)).0 == 200 ? true : nil
        }
        let output = try await TritonClientTests.run(
            "token_grpc.py", [url, "127.0.0.1:\(port)", "shapes", good, other])
        #expect(output.contains("ok tokens"), "\(output)")
        await fixture.shutdown()
    }
}
