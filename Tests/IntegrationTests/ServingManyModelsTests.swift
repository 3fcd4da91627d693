import Foundation
import JSON
import Postgres
import Registry
import Testing

/// Several models on one serving replica (issue 35): a regression and a classifier deployed
/// side by side, each answered under `/models/{name}/…` by its own live version; the
/// unprefixed routes refuse to guess (409 naming both); a rollback, a redeploy, feedback and a
/// failing load of one model leave the other as it was; 1,000 concurrent predictions spread
/// over both answer without an error.
@Suite("Many models on one serving replica", .serialized)
struct ServingManyModelsTests {
    static let admin = [(name: "Authorization", value: "Bearer \(ServingFixture.adminToken)")]
    static let shapesRow = #"{"a": 1, "b": 2, "colour": "red"}"#
    static let sidesRow = #"{"x": 0.9, "y": 0.8}"#

    @Test("two models: per-model routes, 409 without a name, per-model rollback, feedback and loads")
    func twoModels() async throws {
        let fixture = try await ServingFixture()
        defer { Task { await fixture.shutdown() } }
        let shapes1 = try await fixture.deploy(
            manifest: ServingData.regressionManifest, csv: ServingData.regressionCSV, pr: 1, repository: "acme/shapes")
        let sides1 = try await fixture.deploy(
            manifest: ServingData.classificationManifest, csv: ServingData.classificationCSV, pr: 2,
            repository: "acme/sides")
        let (serving, url) = try await fixture.launchServing("serving-many")
        defer { serving.terminate() }
        _ = try await eventually(timeout: 30, "both models loaded") {
            let (status, listed) = try await fixture.json("GET", "\(url)/models")
            let loaded = listed["models"]?.arrayValue?.compactMap { $0["loaded_version"]?.stringValue } ?? []
            return status == 200 && Set(loaded) == [shapes1, sides1] ? true : nil
        }

        // Each model answers under its own name, with its own version and task.
        let (status, shaped) = try await fixture.json("POST", "\(url)/models/shapes/predict", body: Self.shapesRow)
        #expect(status == 200, "\(shaped)")
        #expect(shaped["model_version"]?.stringValue == shapes1)
        #expect(shaped["prediction"]?.doubleValue != nil, "a regression answers a number: \(shaped)")
        let (sideStatus, sided) = try await fixture.json("POST", "\(url)/models/sides/predict", body: Self.sidesRow)
        #expect(sideStatus == 200, "\(sided)")
        #expect(sided["model_version"]?.stringValue == sides1)
        #expect(sided["prediction"]?["label"]?.stringValue == "high", "\(sided)")
        // The v2 protocol by the model's name.
        let infer =
            #"{"inputs": [{"name": "x", "shape": [1], "datatype": "FP64", "data": [0.1]}, "#
            + #"{"name": "y", "shape": [1], "datatype": "FP64", "data": [0.2]}]}"#
        let (v2Status, v2) = try await fixture.json("POST", "\(url)/v2/models/sides/infer", body: infer)
        #expect(v2Status == 200, "\(v2)")
        #expect(v2["model_version"]?.stringValue == sides1)

        // Without a name, with two models: 409 naming both; an unknown name: 404 naming both.
        for (method, path, body) in [
            ("POST", "/predict", Self.shapesRow), ("GET", "/", nil), ("GET", "/deployments", nil),
            ("GET", "/monitoring", nil),
        ] {
            let (code, answer) = try await fixture.json(method, url + path, body: body)
            #expect(code == 409, "\(method) \(path): \(answer)")
            let message = answer["error"]?["message"]?.stringValue ?? ""
            #expect(message.contains("\"shapes\"") && message.contains("\"sides\""), "\(path): \(message)")
        }
        let (unknown, missing) = try await fixture.json("POST", "\(url)/models/prices/predict", body: Self.shapesRow)
        #expect(unknown == 404, "\(missing)")
        #expect(missing["error"]?["message"]?.stringValue?.contains("\"sides\"") == true, "\(missing)")
        // A row of one model's features sent to the other is that model's 422.
        let (wrong, problems) = try await fixture.json("POST", "\(url)/models/sides/predict", body: Self.shapesRow)
        #expect(wrong == 422, "\(problems)")

        // In a real browser: the models page lists both; each predict form posts to its model's route.
        try await DashboardBrowserTests.browse(
            "models", base: url,
            expectations: [
                "versions": ["shapes": shapes1, "sides": sides1],
                "answers": ["shapes": "number", "sides": ["high", "low"]],
            ])

        // With PREDICT_AUTH=token (a second replica): a token for one model is refused on the other
        // (403 naming it), and an unprefixed route answers its 409 before any token check.
        try await Self.tokensPerModel(fixture)

        // Feedback about a prediction of the other model is unknown under this model's name.
        let requestID = try #require(sided["request_id"]?.stringValue)
        let feedback = #"{"request_id": "\#(requestID)", "actual": "high"}"#
        let fed = try await eventually(timeout: 10, "the prediction logged, then its feedback recorded") {
            let (code, answer) = try await fixture.json("POST", "\(url)/models/sides/feedback", body: feedback)
            return code == 201 ? answer : nil
        }
        #expect(fed["status"]?.stringValue == "recorded", "\(fed)")
        let (otherStatus, other) = try await fixture.json("POST", "\(url)/models/shapes/feedback", body: feedback)
        #expect(otherStatus == 404, "\(other)")
        #expect(other["error"]?["message"]?.stringValue?.contains("of \"shapes\"") == true, "\(other)")

        // A second version of shapes goes live; sides keeps its version.
        let shapes2 = try await fixture.deploy(
            manifest: ServingData.regressionManifest, csv: ServingData.regressionCSV, pr: 3, repository: "acme/shapes")
        try await waitFor(fixture, url, model: "shapes", version: shapes2)
        let (_, history) = try await fixture.json("GET", "\(url)/models/sides/deployments")
        #expect(history.arrayValue?.map { $0["version"]?.stringValue } == [sides1], "only sides's history: \(history)")
        // Rolling sides back has nothing earlier; rolling shapes back restores shapes1 only.
        let (noEarlier, _) = try await fixture.json(
            "POST", "\(url)/models/sides/deployments/rollback", headers: Self.admin)
        #expect(noEarlier == 409)
        let (rolled, rollback) = try await fixture.json(
            "POST", "\(url)/models/shapes/deployments/rollback", headers: Self.admin)
        #expect(rolled == 202, "\(rollback)")
        #expect(rollback["rolled_back_to"]?.stringValue == shapes1, "\(rollback)")
        try await waitFor(fixture, url, model: "shapes", version: shapes1)
        let (_, stillSides) = try await fixture.json("POST", "\(url)/models/sides/predict", body: Self.sidesRow)
        #expect(stillSides["model_version"]?.stringValue == sides1, "the other model is untouched")
        // A version of one model cannot be redeployed under the other's name.
        let (crossed, _) = try await fixture.json(
            "POST", "\(url)/models/sides/deployments", body: #"{"version": "\#(shapes2)"}"#, headers: Self.admin)
        #expect(crossed == 404)

        // A deployment of sides whose artifact fails its hash check: sides keeps its version, shapes answers.
        try await fixture.database.query(
            """
            INSERT INTO model_versions (version, model_name, pr_number, commit_sha, metrics, artifact_path, artifact_sha256,
                repository)
            SELECT 'sides-broken', model_name, 9, commit_sha, metrics, artifact_path, repeat('0', 64), repository
            FROM model_versions WHERE version = \(sides1)
            """)
        try await fixture.database.transaction { connection in
            try Deployments.record(connection, model: "sides", version: "sides-broken", reason: "test", kind: .deploy)
        }
        _ = try await eventually(timeout: 30, "the failed load counted") {
            let metrics = String(decoding: try await fixture.request("GET", "\(url)/metrics").body, as: UTF8.self)
            let failures = metrics.split(separator: "\n").first { $0.hasPrefix("conveyor_model_load_failures_total ") }
            return failures.flatMap { Double($0.split(separator: " ").last ?? "") }.map { $0 >= 1 } == true ? true : nil
        }
        let (_, afterShapes) = try await fixture.json("POST", "\(url)/models/shapes/predict", body: Self.shapesRow)
        #expect(afterShapes["model_version"]?.stringValue == shapes1)
        let (_, afterSides) = try await fixture.json("POST", "\(url)/models/sides/predict", body: Self.sidesRow)
        #expect(afterSides["model_version"]?.stringValue == sides1, "the failed load left sides on its version")

        // 1,000 concurrent predictions over both models: every one answered by its model.
        let counts = try await withThrowingTaskGroup(of: (Int, Bool).self) { group in
            for index in 0..<1000 {
                group.addTask {
                    let shapes = index.isMultiple(of: 2)
                    let (code, answer) = try await fixture.json(
                        "POST", "\(url)/models/\(shapes ? "shapes" : "sides")/predict",
                        body: shapes ? Self.shapesRow : Self.sidesRow)
                    let expected = shapes ? shapes1 : sides1
                    return (code, answer["model_version"]?.stringValue == expected)
                }
            }
            var (ok, right) = (0, 0)
            for try await (code, matched) in group {
                if code == 200 { ok += 1 }
                if matched { right += 1 }
            }
            return (ok, right)
        }
        #expect(counts.0 == 1000, "answered with 200")
        #expect(counts.1 == 1000, "answered by the model named")
    }

    @Test("MAX_LOADED_MODELS=1: a model loads on its first request and the least recently used one is unloaded")
    func lazyLoading() async throws {
        let fixture = try await ServingFixture()
        defer { Task { await fixture.shutdown() } }
        let shapes = try await fixture.deploy(
            manifest: ServingData.regressionManifest, csv: ServingData.regressionCSV, pr: 1, repository: "acme/shapes")
        let sides = try await fixture.deploy(
            manifest: ServingData.classificationManifest, csv: ServingData.classificationCSV, pr: 2,
            repository: "acme/sides")
        let (serving, url) = try await fixture.launchServing("serving-lazy", settings: ["MAX_LOADED_MODELS": "1"])
        defer { serving.terminate() }
        // One model is loaded at start; the other is live but waits for a request.
        let first = try await eventually(timeout: 30, "one model loaded") {
            let loaded = try await loadedModelVersions(fixture.http, url)
            return loaded.count == 1 ? loaded : nil
        }
        let rssOne = Self.residentKilobytes(serving.pid)
        let (names, listed) = try await fixture.json("GET", "\(url)/models")
        #expect(names == 200 && listed["models"]?.arrayValue?.count == 2, "both live: \(listed)")
        let waiting = try #require(["shapes", "sides"].first { first[$0] == nil })
        let resident = try #require(first.keys.first)
        // The waiting model answers its first request (loaded for it), and the other is unloaded.
        let (status, answer) = try await fixture.json(
            "POST", "\(url)/models/\(waiting)/predict", body: waiting == "shapes" ? Self.shapesRow : Self.sidesRow)
        #expect(status == 200, "\(answer)")
        #expect(answer["model_version"]?.stringValue == (waiting == "shapes" ? shapes : sides))
        let after = try await loadedModelVersions(fixture.http, url)
        #expect(Set(after.keys) == [waiting], "the least recently used model was unloaded: \(after)")
        let metrics = String(decoding: try await fixture.request("GET", "\(url)/metrics").body, as: UTF8.self)
        #expect(metrics.contains("conveyor_model_evictions_total 1"), "one eviction counted")
        // Concurrent first requests for the unloaded one share one load, and all are answered.
        let codes = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    try await fixture.json(
                        "POST", "\(url)/models/\(resident)/predict",
                        body: resident == "shapes" ? Self.shapesRow : Self.sidesRow
                    ).0
                }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(codes.allSatisfy { $0 == 200 }, "\(codes)")
        let swapsBack = String(decoding: try await fixture.request("GET", "\(url)/metrics").body, as: UTF8.self)
        #expect(swapsBack.contains("conveyor_model_evictions_total 2"), "one load for 20 requests, one more eviction")
        let rssAfter = Self.residentKilobytes(serving.pid)
        print(
            "serving RSS with one small model loaded: \(rssOne) kB; after two on-demand loads and evictions: \(rssAfter) kB"
        )
    }

    @Test("what a loaded model costs: serving's resident set before any model, with the example model, with a second")
    func residentMemoryPerModel() async throws {
        let fixture = try await ServingFixture()
        defer { Task { await fixture.shutdown() } }
        let (serving, url) = try await fixture.launchServing("serving-memory")
        defer { serving.terminate() }
        let (before, _) = try await fixture.json("GET", "\(url)/models")
        #expect(before == 200)
        let empty = Self.residentKilobytes(serving.pid)
        let example = try await fixture.deploy(
            repository: Trio.repositoryRoot.appendingPathComponent("deploy/example-model"), pr: 1,
            from: "conveyor/example-model")
        try await waitFor(fixture, url, model: "seattle-temp-max", version: example)
        let one = Self.residentKilobytes(serving.pid)
        let shapes = try await fixture.deploy(
            manifest: ServingData.regressionManifest, csv: ServingData.regressionCSV, pr: 2, repository: "acme/shapes")
        try await waitFor(fixture, url, model: "shapes", version: shapes)
        let two = Self.residentKilobytes(serving.pid)
        print("serving RSS: \(empty) kB with no model, \(one) kB with the example model, \(two) kB with a second model")
        #expect(empty > 0 && one > 0 && two > 0, "read from /proc/\(serving.pid)/status")
        // A loaded built-in model is its artifact, encoder and explainer: far below a process's size.
        #expect(one - empty < 64 * 1024, "the example model costs \(one - empty) kB")
    }

    /// A token for `sides` only, on a replica with `PREDICT_AUTH=token`.
    static func tokensPerModel(_ fixture: ServingFixture) async throws {
        let (replica, url) = try await fixture.launchServing(
            "serving-many-tokens", settings: ["PREDICT_AUTH": "token"])
        defer { replica.terminate() }
        let (created, token) = try await fixture.json(
            "POST", "\(url)/tokens", body: #"{"name": "sides-only", "models": ["sides"], "scopes": ["predict"]}"#,
            headers: admin)
        #expect(created == 201, "\(token)")
        let bearer = [(name: "Authorization", value: "Bearer \(token["token"]?.stringValue ?? "")")]
        let allowed = try await eventually(timeout: 10, "the token known to the replica") {
            let (code, answer) = try await fixture.json(
                "POST", "\(url)/models/sides/predict", body: sidesRow, headers: bearer)
            return code == 200 ? answer : nil
        }
        #expect(allowed["prediction"]?["label"]?.stringValue == "high")
        let (other, refusal) = try await fixture.json(
            "POST", "\(url)/models/shapes/predict", body: shapesRow, headers: bearer)
        #expect(other == 403, "\(refusal)")
        #expect(refusal["error"]?["problems"]?.arrayValue?.first?["problem"]?.stringValue == "model", "\(refusal)")
        let (unnamed, conflict) = try await fixture.json("POST", "\(url)/predict", body: sidesRow, headers: bearer)
        #expect(unnamed == 409, "\(conflict)")
        let (missing, _) = try await fixture.json("POST", "\(url)/models/sides/predict", body: sidesRow)
        #expect(missing == 401)
    }

    /// The resident set of process `pid`, in kB (from /proc).
    static func residentKilobytes(_ pid: pid_t) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    /// Waits until `url` answers `model` with `version`.
    private func waitFor(_ fixture: ServingFixture, _ url: String, model: String, version: String) async throws {
        _ = try await eventually(timeout: 30, "\(model) at \(version)") {
            let (_, described) = try await fixture.json("GET", "\(url)/models/\(model)")
            return described["version"]?.stringValue == version ? true : nil
        }
    }
}
