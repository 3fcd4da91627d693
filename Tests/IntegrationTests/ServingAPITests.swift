import Foundation
import HTTPClient
import JSON
import ServiceKit
import Subprocess
import Testing

@Suite("serving: predict, CSV, v2, model page, OpenAPI, metrics", .serialized)
struct ServingAPITests {
    /// One replica serving the `shapes` regression model, with small limits.
    static func start() async throws -> (ServingFixture, LaunchedProcess, String) {
        let fixture = try await ServingFixture()
        let version = try await fixture.deploy(
            manifest: ServingData.regressionManifest, csv: ServingData.regressionCSV, pr: 1)
        let (process, url) = try await fixture.launchServing(
            "serving", settings: ["MAX_BODY_BYTES": "4096", "MAX_INSTANCES": "50"])
        try await fixture.waitForVersion(version, at: url)
        return (fixture, process, url)
    }

    /// The problems of a 4xx body as field → problem.
    static func problems(_ body: JSONValue) -> [String: String] {
        var found: [String: String] = [:]
        for item in body["error"]?["problems"]?.arrayValue ?? [] {
            if let field = item["field"]?.stringValue { found[field] = item["problem"]?.stringValue ?? "" }
        }
        return found
    }

    @Test("batch JSON and CSV in → CSV out give the same predictions as single requests")
    func batchAndCSV() async throws {
        let (fixture, process, url) = try await Self.start()
        defer { _ = process.terminate() }
        let rows = [(1.0, 2.0, "red"), (4.5, 0.5, "blue"), (7.0, 3.0, "green")]
        var singles: [Double] = []
        for (a, b, colour) in rows {
            let (_, body) = try await fixture.json(
                "POST", "\(url)/predict", body: "{\"a\": \(a), \"b\": \(b), \"colour\": \"\(colour)\"}")
            singles.append(try #require(body["prediction"]?.doubleValue))
        }
        let instances = rows.map { "{\"a\": \($0.0), \"b\": \($0.1), \"colour\": \"\($0.2)\"}" }
        let (status, batch) = try await fixture.json(
            "POST", "\(url)/predict", body: "{\"instances\": [\(instances.joined(separator: ","))]}")
        #expect(status == 200)
        #expect(batch["predictions"]?.arrayValue?.compactMap(\.doubleValue) == singles)

        let csv = "id,colour,a,b\n" + rows.enumerated().map { "\($0),\($1.2),\($1.0),\($1.1)" }.joined(separator: "\n")
        let response = try await fixture.request("POST", "\(url)/predict", body: csv, contentType: "text/csv")
        #expect(response.status == 200)
        #expect(response.header("Content-Type")?.hasPrefix("text/csv") == true)
        #expect(response.header("X-Model-Version")?.isEmpty == false)
        let lines = String(decoding: response.body, as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(lines.first == "prediction")
        #expect(lines.dropFirst().compactMap(Double.init) == singles)

        let noColumn = try await fixture.request(
            "POST", "\(url)/predict", body: "a,colour\n1,red\n", contentType: "text/csv")
        #expect(noColumn.status == 422)
        #expect(Self.problems(try JSONValue.parse(noColumn.body))["header"]?.contains("\"b\"") == true)
        let badCell = try await fixture.request(
            "POST", "\(url)/predict", body: "a,b,colour\n1,2,red\noops,2,red\n", contentType: "text/csv")
        #expect(badCell.status == 422)
        #expect(Self.problems(try JSONValue.parse(badCell.body)).keys.contains("rows[1] (line 3).a"))
        let ragged = try await fixture.request(
            "POST", "\(url)/predict", body: "a,b,colour\n1,2\n", contentType: "text/csv")
        #expect(ragged.status == 422)
        await fixture.shutdown()
    }

    @Test("classification answers labels with probabilities; forecast answers dated values")
    func classificationAndForecast() async throws {
        let (fixture, process, url) = try await Self.start()
        defer { _ = process.terminate() }
        let classifier = try await fixture.deploy(
            manifest: ServingData.classificationManifest, csv: ServingData.classificationCSV, pr: 2)
        try await fixture.waitForVersion(classifier, at: url)
        let (status, body) = try await fixture.json("POST", "\(url)/predict", body: #"{"x": 0.95, "y": 0.9}"#)
        #expect(status == 200)
        #expect(body["prediction"]?["label"]?.stringValue == "high")
        let probabilities = body["prediction"]?["probabilities"]?.objectValue ?? [:]
        #expect(Set(probabilities.keys) == ["high", "low"])
        #expect(abs(probabilities.values.compactMap(\.doubleValue).reduce(0, +) - 1) < 1e-9)
        let csv = try await fixture.request(
            "POST", "\(url)/predict", body: "x,y\n0.05,0.1\n0.9,0.95\n", contentType: "text/csv")
        let lines = String(decoding: csv.body, as: UTF8.self).split(separator: "\n")
        #expect(lines.first == "label,probability_high,probability_low")
        #expect(lines.dropFirst().map { $0.split(separator: ",").first.map(String.init) } == ["low", "high"])

        let forecaster = try await fixture.deploy(
            manifest: ServingData.forecastManifest, csv: ServingData.forecastCSV, pr: 3)
        try await fixture.waitForVersion(forecaster, at: url)
        let (forecastStatus, forecast) = try await fixture.json("POST", "\(url)/predict", body: #"{"horizon": 7}"#)
        #expect(forecastStatus == 200)
        let points = forecast["forecast"]?.arrayValue ?? []
        #expect(points.count == 7)
        // 200 days from 2024-01-01 end on 2024-07-18.
        #expect(points.first?["date"]?.stringValue == "2024-07-19")
        #expect(points.allSatisfy { ($0["value"]?.doubleValue ?? 0) > 50 })
        let (tooFar, tooFarBody) = try await fixture.json("POST", "\(url)/predict", body: #"{"horizon": 15}"#)
        #expect(tooFar == 422)
        #expect(Self.problems(tooFarBody)["horizon"]?.contains("14") == true)
        await fixture.shutdown()
    }

    @Test("Open Inference Protocol v2: metadata, per-feature and [N, F] tensors, errors")
    func inferenceProtocol() async throws {
        let (fixture, process, url) = try await Self.start()
        defer { _ = process.terminate() }
        #expect(try await fixture.json("GET", "\(url)/v2/health/live").1["live"]?.boolValue == true)
        #expect(try await fixture.json("GET", "\(url)/v2/health/ready").0 == 200)
        let (_, metadata) = try await fixture.json("GET", "\(url)/v2/models/shapes")
        #expect(metadata["inputs"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["a", "b", "colour"])
        #expect(metadata["outputs"]?.arrayValue?.first?["name"]?.stringValue == "prediction")
        #expect(try await fixture.json("GET", "\(url)/v2/models/shapes/ready").1["ready"]?.boolValue == true)
        let (missing, missingBody) = try await fixture.json("GET", "\(url)/v2/models/other")
        #expect(missing == 404)
        #expect(missingBody["error"]?.stringValue?.contains("shapes") == true)

        let (_, single) = try await fixture.json(
            "POST", "\(url)/predict",
            body: #"{"instances": [{"a": 1, "b": 2, "colour": "red"}, {"a": 3, "b": 1, "colour": "blue"}]}"#)
        let expected = single["predictions"]?.arrayValue?.compactMap(\.doubleValue) ?? []
        let perFeature = """
            {"id": "req-1", "inputs": [
              {"name": "a", "shape": [2], "datatype": "FP64", "data": [1, 3]},
              {"name": "b", "shape": [2, 1], "datatype": "FP64", "data": [[2], [1]]},
              {"name": "colour", "shape": [2], "datatype": "BYTES", "data": ["red", "blue"]}]}
            """
        let (status, reply) = try await fixture.json("POST", "\(url)/v2/models/shapes/infer", body: perFeature)
        #expect(status == 200, "\(reply)")
        #expect(reply["id"]?.stringValue == "req-1")
        #expect(reply["model_name"]?.stringValue == "shapes")
        let output = reply["outputs"]?.arrayValue?.first
        #expect(output?["name"]?.stringValue == "prediction")
        #expect(output?["shape"]?.arrayValue?.compactMap(\.integerValue) == [2])
        #expect(output?["data"]?.arrayValue?.compactMap(\.doubleValue) == expected)
        let matrix = """
            {"inputs": [{"name": "input-0", "shape": [2, 3], "datatype": "BYTES", "data": [1, 2, "red", 3, 1, "blue"]}]}
            """
        let (_, matrixReply) = try await fixture.json("POST", "\(url)/v2/models/shapes/infer", body: matrix)
        #expect(
            matrixReply["outputs"]?.arrayValue?.first?["data"]?.arrayValue?.compactMap(\.doubleValue) == expected)

        let wrongShape = #"{"inputs": [{"name": "a", "shape": [3], "datatype": "FP64", "data": [1, 2]}]}"#
        let (shapeStatus, shapeBody) = try await fixture.json(
            "POST", "\(url)/v2/models/shapes/infer", body: wrongShape)
        #expect(shapeStatus == 422)
        #expect(shapeBody["error"]?.stringValue?.isEmpty == false)
        let fields = (shapeBody["problems"]?.arrayValue ?? []).compactMap { $0["field"]?.stringValue }
        #expect(fields.contains("inputs[0].data"))
        let unknown =
            #"{"inputs": [{"name": "zzz", "shape": [1], "datatype": "FP64", "data": [1]}, {"name": "a", "shape": [1], "datatype": "FP64", "data": [1]}]}"#
        let (_, unknownBody) = try await fixture.json("POST", "\(url)/v2/models/shapes/infer", body: unknown)
        let unknownFields = (unknownBody["problems"]?.arrayValue ?? []).compactMap { $0["problem"]?.stringValue }
        #expect(unknownFields.contains { $0.contains("zzz") })
        #expect(unknownFields.contains { $0.contains("\"b\"") })
        await fixture.shutdown()
    }

    @Test("GET / as JSON and as HTML; OpenAPI valid and generated from the deployed schema")
    func modelPageAndOpenAPI() async throws {
        let (fixture, process, url) = try await Self.start()
        defer { _ = process.terminate() }
        let (_, info) = try await fixture.json("GET", "\(url)/")
        #expect(info["pull_request"]?["number"]?.integerValue == 1)
        #expect(info["features"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["a", "b", "colour"])
        #expect(info["metrics"]?["rmse"]?.doubleValue != nil)
        let page = try await fixture.request("GET", "\(url)/", headers: [("Accept", "text/html,*/*")])
        let html = String(decoding: page.body, as: UTF8.self)
        #expect(page.header("Content-Type")?.hasPrefix("text/html") == true)
        #expect(html.contains("<h1>shapes") && html.contains("PR 1") && html.contains("id=\"timeline\""), "\(html)")
        let version = try #require(info["version"]?.stringValue)
        let versionPage = try await fixture.request("GET", "\(url)/versions/\(version)")
        let versionHTML = String(decoding: versionPage.body, as: UTF8.self)
        #expect(versionPage.status == 200 && versionHTML.contains("<code>colour</code>"))
        #expect(try await fixture.request("GET", "\(url)/versions/nope").status == 404)
        #expect(try await fixture.request("GET", "\(url)/compare?a=\(version)").status == 422)
        #expect(try await fixture.request("GET", "\(url)/runs?status=bogus").status == 422)
        #expect(try await fixture.request("GET", "\(url)/runs?before=0").status == 422)
        #expect(try await fixture.request("GET", "\(url)/runs/abc").status == 422)
        #expect(try await fixture.request("GET", "\(url)/runs/424242").status == 404)
        let unknown = try await fixture.request("GET", "\(url)/compare?a=\(version)&b=nope")
        #expect(unknown.status == 404 && unknown.text.contains("\"field\":\"b\""), "\(unknown.text)")

        let document = try await fixture.request("GET", "\(url)/openapi.json")
        let file = fixture.directory.appendingPathComponent("openapi.json")
        try Data(document.body).write(to: file)
        let python = ProcessInfo.processInfo.environment["CONVEYOR_TEST_PYTHON"] ?? "/usr/bin/python3"
        let check = try await CommandRunner.output([
            python, "-c",
            "import json,sys; from openapi_spec_validator import validate; validate(json.load(open(sys.argv[1]))); print('valid')",
            file.path,
        ])
        #expect(check.status == 0 && check.stdout.contains("valid"), "openapi-spec-validator: \(check.stderr)")
        let openapi = try JSONValue.parse(document.body)
        let schema = openapi["paths"]?["/predict"]?["post"]?["requestBody"]?["content"]?["application/json"]?[
            "schema"]?["oneOf"]?.arrayValue?.first
        // The features, and `explain` (this linear model explains itself).
        #expect(schema?["properties"]?.objectValue.map { Set($0.keys) } == ["a", "b", "colour", "explain"])
        #expect(schema?["properties"]?["explain"]?["type"]?.stringValue == "boolean")
        #expect(schema?["properties"]?["a"]?["maximum"]?.doubleValue == 100)
        #expect(
            schema?["properties"]?["colour"]?["enum"]?.arrayValue?.compactMap(\.stringValue) == [
                "red", "green", "blue",
            ])
        #expect(openapi["paths"]?["/predict"]?["post"]?["requestBody"]?["content"]?["text/csv"] != nil)
        #expect(openapi["paths"]?["/v2/models/{name}/infer"]?["post"] != nil)
        await fixture.shutdown()
    }

    @Test("metrics are present and move: requests by route and status, latency, predictions by version")
    func metricsMove() async throws {
        let (fixture, process, url) = try await Self.start()
        defer { _ = process.terminate() }
        func scrape() async throws -> String {
            String(decoding: try await fixture.request("GET", "\(url)/metrics").body, as: UTF8.self)
        }
        func value(_ text: String, _ prefix: String, containing: [String] = []) -> Double {
            text.split(separator: "\n").filter { line in
                line.hasPrefix(prefix) && containing.allSatisfy { line.contains($0) }
            }.compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
        }
        _ = try await fixture.json("POST", "\(url)/predict", body: #"{"a": 1, "b": 1, "colour": "red"}"#)
        let before = try await scrape()
        for _ in 0..<5 {
            _ = try await fixture.json("POST", "\(url)/predict", body: #"{"a": 1, "b": 1, "colour": "red"}"#)
        }
        _ = try await fixture.json("POST", "\(url)/predict", body: #"{"a": "x"}"#)
        let after = try await eventually(timeout: 10, "metrics to count the requests") {
            let text = try await scrape()
            return value(text, "http_server_requests_total", containing: ["/predict", "\"200\""])
                >= value(before, "http_server_requests_total", containing: ["/predict", "\"200\""]) + 5 ? text : nil
        }
        #expect(value(after, "http_server_requests_total", containing: ["/predict", "\"422\""]) >= 1)
        #expect(
            value(after, "conveyor_predictions_total", containing: ["model_version"])
                == value(before, "conveyor_predictions_total", containing: ["model_version"]) + 5)
        #expect(after.contains("http_server_request_duration_seconds_bucket"))
        #expect(
            value(after, "conveyor_prediction_rejections_total", containing: ["\"invalid_input\""])
                == value(before, "conveyor_prediction_rejections_total", containing: ["\"invalid_input\""]) + 1)
        #expect(value(after, "conveyor_live_model_info", containing: ["version=\""]) == 1)
        #expect(value(after, "conveyor_model_swaps_total") >= 1)
        #expect(after.contains("conveyor_model_load_seconds"))
        #expect(after.contains("conveyor_prediction_log_queue_depth"))
        #expect(after.contains("conveyor_prediction_log_written_total"))
        await fixture.shutdown()
    }
}
