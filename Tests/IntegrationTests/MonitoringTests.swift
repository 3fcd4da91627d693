import Foundation
import JSON
import Learning
import Postgres
import Subprocess
import Testing

/// Drift and live performance of the Seattle example, computed in Postgres
/// from what `serving` logged, against windows of known distribution.
@Suite("monitoring: drift windows, feedback and live metrics", .serialized)
struct MonitoringTests {
    static let example = Trio.repositoryRoot.appendingPathComponent("deploy/example-model")

    /// The example's rows as feature objects: the training split (2012–2014) and the test split (2015).
    static func exampleRows() throws -> (train: [[String: JSONValue]], test: [[String: JSONValue]], actual: [Double]) {
        let table = try CSVTable(
            bytes: Array(try Data(contentsOf: example.appendingPathComponent("data/seattle-weather.csv"))))
        let rows = (0..<table.rowCount).map { row -> [String: JSONValue] in
            var object: [String: JSONValue] = [:]
            for name in ["temp_min", "precipitation", "wind"] {
                object[name] = .number(Double(table.field(row: row, column: table.column(name)!))!)
            }
            object["weather"] = .string(table.field(row: row, column: table.column("weather")!))
            return object
        }
        let actual = (0..<table.rowCount).map { Double(table.field(row: $0, column: table.column("temp_max")!))! }
        let cut = table.rowCount - Int((Double(table.rowCount) * 0.2).rounded())
        return (Array(rows[..<cut]), Array(rows[cut...]), Array(actual[cut...]))
    }

    /// A deterministic bootstrap (xorshift) so every run sends the same windows.
    struct Draws {
        var state: UInt64
        mutating func next(below bound: Int) -> Int {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Int(state % UInt64(bound))
        }
    }

    /// Sends `rows` to /predict in batches of 50; returns the request ids, one per batch.
    static func send(_ rows: [[String: JSONValue]], to url: String, fixture: ServingFixture) async throws -> [String] {
        var ids: [String] = []
        for start in stride(from: 0, to: rows.count, by: 50) {
            let batch = JSONValue.object([
                "instances": .array(rows[start..<min(rows.count, start + 50)].map(JSONValue.object))
            ])
            let body = String(decoding: try JSONEncoder().encode(batch), as: UTF8.self)
            let (status, answer) = try await fixture.json("POST", "\(url)/predict", body: body)
            try #require(status == 200, "\(answer)")
            ids.append(try #require(answer["request_id"]?.stringValue))
        }
        return ids
    }

    /// Waits for the log to hold `count` requests, then computes the reports now.
    static func report(_ url: String, fixture: ServingFixture, logged count: Int) async throws -> JSONValue {
        _ = try await eventually(timeout: 30, "\(count) logged requests") {
            let rows = try await fixture.database.query("SELECT count(*) AS n FROM prediction_log")
            return try rows.first?.decode("n", as: Int.self) ?? 0 >= count ? true : nil
        }
        let (status, answer) = try await fixture.json(
            "POST", "\(url)/monitoring/reports", headers: [("Authorization", "Bearer \(ServingFixture.adminToken)")])
        try #require(status == 201, "\(answer)")
        return try #require(answer["reports"]?.arrayValue?.first)
    }

    /// The Seattle example trained, deployed and served by one replica with the monitoring timer off
    /// and rollups every second (windows span sealed and raw periods).
    static func exampleServing(_ name: String, settings: [String: String] = [:]) async throws -> (
        ServingFixture, LaunchedProcess, String, String
    ) {
        let fixture = try await ServingFixture()
        let manifest = try String(contentsOf: example.appendingPathComponent("conveyor.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "data/seattle-weather.csv", with: "data.csv")
        let version = try await fixture.deploy(manifest: manifest, csv: try exampleCSV(), pr: 1)
        let (process, url) = try await fixture.launchServing(
            name, settings: ["MONITORING_INTERVAL": "0", "MONITORING_ROLLUP_INTERVAL": "1s"].merging(settings) { $1 })
        try await fixture.waitForVersion(version, at: url)
        return (fixture, process, url, version)
    }

    static func exampleCSV() throws -> String {
        try String(contentsOf: example.appendingPathComponent("data/seattle-weather.csv"), encoding: .utf8)
    }

    static func drifted(_ report: JSONValue) -> [String] {
        (report["features"]?.arrayValue ?? []).filter { $0["drifted"]?.boolValue == true }.compactMap {
            $0["feature"]?.stringValue
        }
    }

    static func feature(_ report: JSONValue, _ name: String) -> JSONValue? {
        report["features"]?.arrayValue?.first { $0["feature"]?.stringValue == name }
    }

    @Test(
        "a stationary stream raises no alert in 20 windows; temp_min shifted by 2 standard deviations is flagged on temp_min alone; a flipped weather mix is flagged by chi-square and Jensen–Shannon"
    )
    func driftWindows() async throws {
        let (fixture, process, url, version) = try await MonitoringTests.exampleServing("monitoring")
        defer {
            _ = process.terminate()
            Task { await fixture.shutdown() }
        }
        let (train, _, _) = try Self.exampleRows()
        var draws = Draws(state: 0x9E37_79B9_7F4A_7C15)
        func window() -> [[String: JSONValue]] { (0..<1000).map { _ in train[draws.next(below: train.count)] } }
        var logged = 0
        for index in 0..<20 {
            logged += try await Self.send(window(), to: url, fixture: fixture).count
            let report = try await Self.report(url, fixture: fixture, logged: logged)
            #expect(report["model_version"]?.stringValue == version)
            #expect(report["rows"]?.integerValue == 1000, "the window is the last 1000 predictions")
            #expect(report["dataset_drift"]?.boolValue == false, "window \(index): \(Self.drifted(report))")
            #expect(Self.drifted(report).isEmpty, "window \(index): \(Self.drifted(report))")
            #expect(Self.feature(report, "temp_min")?["method"]?.stringValue == "wasserstein", "1169 reference rows")
        }
        let std = Self.standardDeviation(train, "temp_min")
        let shifted = window().map { row -> [String: JSONValue] in
            var row = row
            row["temp_min"] = .number(row["temp_min"]!.doubleValue! + 2 * std)
            return row
        }
        logged += try await Self.send(shifted, to: url, fixture: fixture).count
        let shift = try await Self.report(url, fixture: fixture, logged: logged)
        #expect(Self.drifted(shift) == ["temp_min"], "\(Self.drifted(shift))")
        let temp = try #require(Self.feature(shift, "temp_min"))
        #expect(abs((temp["value"]?.doubleValue ?? 0) - 2) < 0.25, "Wasserstein ≈ the 2σ shift: \(temp)")
        #expect(shift["prediction"]?["drifted"]?.boolValue == true, "the predictions follow temp_min")

        let flipped = window().map { row -> [String: JSONValue] in
            var row = row
            let swap = ["sun": "rain", "rain": "sun", "fog": "drizzle", "drizzle": "fog"]
            row["weather"] = .string(swap[row["weather"]!.stringValue!] ?? row["weather"]!.stringValue!)
            return row
        }
        logged += try await Self.send(flipped, to: url, fixture: fixture).count
        let flip = try await Self.report(url, fixture: fixture, logged: logged)
        #expect(Self.drifted(flip) == ["weather"], "\(Self.drifted(flip))")
        let weather = try #require(Self.feature(flip, "weather"))
        #expect(weather["method"]?.stringValue == "jensenshannon")
        #expect((weather["statistics"]?["jensen_shannon"]?.doubleValue ?? 0) >= 0.1)
        #expect((weather["statistics"]?["chi_square_p_value"]?.doubleValue ?? 1) < 0.05)

        // GET /monitoring shows the newest stored report; the gauges carry it.
        let (_, stored) = try await fixture.json("GET", "\(url)/monitoring")
        #expect(stored["reports"]?.arrayValue?.first?["id"] == flip["id"])
        let metrics = try await fixture.request("GET", "\(url)/metrics").text
        #expect(
            metrics.contains("conveyor_dataset_drift_share{model_version=\"\(version)\"}"), "\(metrics.prefix(2000))")
        #expect(metrics.contains("conveyor_feature_drift{"))
    }

    @Test(
        "PREDICTION_ID_FIELD: a business id is logged with the instance, never fed to the model, and names it in POST /feedback"
    )
    func businessID() async throws {
        let (fixture, process, url, _) = try await Self.exampleServing(
            "business-id", settings: ["PREDICTION_ID_FIELD": "customer"])
        defer {
            _ = process.terminate()
            Task { await fixture.shutdown() }
        }
        let row = #"{"temp_min": 5, "precipitation": 1, "wind": 3, "weather": "rain""#
        let (_, plain) = try await fixture.json("POST", "\(url)/predict", body: row + "}")
        let (status, batch) = try await fixture.json(
            "POST", "\(url)/predict",
            body: #"{"instances": [\#(row), "customer": "c-1"}, \#(row), "customer": 42}]}"#)
        try #require(status == 200, "\(batch)")
        let predictions = try #require(batch["predictions"]?.arrayValue)
        #expect(
            predictions.map(\.doubleValue) == [plain["prediction"]?.doubleValue, plain["prediction"]?.doubleValue],
            "the id is not a model input")
        let requestID = try #require(batch["request_id"]?.stringValue)
        let (recorded, answer) = try await fixture.json(
            "POST", "\(url)/feedback", body: #"{"id": 42, "actual": 11.5}"#)
        #expect(recorded == 201, "\(answer)")
        #expect(answer["request_id"]?.stringValue == requestID)
        #expect(answer["position"]?.integerValue == 1, "the instance that carried the id")
        let (unknown, missing) = try await fixture.json(
            "POST", "\(url)/feedback", body: #"{"id": "nobody", "actual": 11.5}"#)
        #expect(unknown == 404, "\(missing)")
        let csv = try await fixture.request(
            "POST", "\(url)/feedback", body: "id,actual\nc-1,9.5\nnobody,3\n", contentType: "text/csv")
        let csvAnswer = try JSONValue.parse(csv.body)
        #expect(csvAnswer["recorded"]?.integerValue == 1 && csvAnswer["unknown"]?.integerValue == 1, "\(csv.text)")
    }

    static func firstProblem(_ error: JSONValue) -> String? {
        error["error"]?["problems"]?.arrayValue?.first?["field"]?.stringValue
    }

    static func standardDeviation(_ rows: [[String: JSONValue]], _ name: String) -> Double {
        let values = rows.compactMap { $0[name]?.doubleValue }
        let mean = values.reduce(0, +) / Double(values.count)
        return (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)).squareRoot()
    }

    @Test(
        "feedback: actuals joined with predictions give the live RMSE a direct computation gives; unknown, duplicate and bad ids are answered"
    )
    func feedback() async throws {
        let (fixture, process, url, version) = try await MonitoringTests.exampleServing("feedback")
        defer {
            _ = process.terminate()
            Task { await fixture.shutdown() }
        }
        let (_, test, actual) = try Self.exampleRows()
        // One request per row for the first 100 (feedback by request id), then a batch (by position).
        var predictions: [(id: String, value: Double)] = []
        for row in test.prefix(100) {
            let body = String(decoding: try JSONEncoder().encode(JSONValue.object(row)), as: UTF8.self)
            let (status, answer) = try await fixture.json("POST", "\(url)/predict", body: body)
            try #require(status == 200)
            predictions.append((answer["request_id"]!.stringValue!, answer["prediction"]!.doubleValue!))
        }
        let batch = try await Self.send(Array(test[100..<150]), to: url, fixture: fixture)
        // Single feedback: 201, then the same again is a 409 duplicate; an unknown id is a 404.
        let first = #"{"request_id": "\#(predictions[0].id)", "actual": \#(actual[0])}"#
        #expect(try await fixture.json("POST", "\(url)/feedback", body: first).0 == 201)
        let (duplicateStatus, duplicate) = try await fixture.json("POST", "\(url)/feedback", body: first)
        #expect(duplicateStatus == 409, "\(duplicate)")
        let (unknownStatus, unknown) = try await fixture.json(
            "POST", "\(url)/feedback", body: #"{"request_id": "no-such-request", "actual": 3}"#)
        #expect(unknownStatus == 404, "\(unknown)")
        let (badStatus, bad) = try await fixture.json(
            "POST", "\(url)/feedback", body: #"{"request_id": "\#(predictions[1].id)", "actual": "warm"}"#)
        #expect(badStatus == 422 && Self.firstProblem(bad) == "actual", "\(bad)")
        let (positionStatus, position) = try await fixture.json(
            "POST", "\(url)/feedback", body: #"{"request_id": "\#(predictions[1].id)", "position": 3, "actual": 1}"#)
        #expect(positionStatus == 422 && Self.firstProblem(position) == "position", "\(position)")
        // A batch: the rest of the singles, one unknown, one duplicate.
        var items = (1..<100).map { #"{"request_id": "\#(predictions[$0].id)", "actual": \#(actual[$0])}"# }
        items.append(#"{"request_id": "missing", "actual": 1}"#)
        items.append(first)
        let (batchStatus, answer) = try await fixture.json(
            "POST", "\(url)/feedback", body: #"{"feedback": [\#(items.joined(separator: ","))]}"#)
        #expect(batchStatus == 200, "\(answer)")
        #expect(answer["recorded"]?.integerValue == 99)
        #expect(answer["unknown"]?.integerValue == 1)
        #expect(answer["duplicate"]?.integerValue == 1)
        // CSV for the batch request, by position.
        var lines = ["request_id,position,actual"]
        for (offset, index) in (100..<150).enumerated() { lines.append("\(batch[0]),\(offset),\(actual[index])") }
        let csvAnswer = try await fixture.request(
            "POST", "\(url)/feedback", body: lines.prefix(51).joined(separator: "\n") + "\n", contentType: "text/csv")
        #expect(csvAnswer.status.code == 200, "\(csvAnswer.text)")
        #expect(try JSONValue.parse(csvAnswer.body)["recorded"]?.integerValue == 50)

        // Live RMSE over all 150, computed directly from the served predictions.
        let batchRows = try await fixture.database.query(
            "SELECT outputs::text AS outputs FROM prediction_log WHERE request_id = \(batch[0])")
        let batchValues = try JSONValue.parse(Array(try batchRows.first!.decode("outputs", as: String.self).utf8))
            .arrayValue!.compactMap(\.doubleValue)
        let served = predictions.map(\.value) + batchValues
        let truth = Array(actual[0..<150])
        let rmse = (zip(served, truth).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } / 150).squareRoot()
        let report = try await Self.report(url, fixture: fixture, logged: 101)
        #expect(report["labelled"]?.integerValue == 150)
        let live = try #require(report["live_metrics"]?["rmse"]?.doubleValue)
        #expect(abs(live - rmse) < 1e-9, "live \(live), direct \(rmse)")
        #expect(report["training_metrics"]?["rmse"]?.doubleValue != nil, "side by side with training")
        // Label drift: the 150 actuals against the training target's distribution.
        let label = try #require(report["label"], "label drift once ground truth arrives")
        #expect(label["rows"]?.integerValue == 150)
        #expect(label["method"]?.stringValue == "wasserstein", "1169 training targets")
        #expect(label["statistics"]?["ks"]?.doubleValue != nil)
    }
}

/// The SQL-binned statistics against scipy on the same samples.
@Suite("monitoring: statistics against scipy")
struct DriftOracleTests {
    @Test(
        "the example's 2015 test rows against its 2012–2014 training rows: KS, Wasserstein, chi-square and Jensen–Shannon as scipy computes them, within the binning error"
    )
    func againstScipy() async throws {
        let python = try #require(ProcessInfo.processInfo.environment["CONVEYOR_TEST_PYTHON"], "the test venv")
        let (fixture, process, url, version) = try await MonitoringTests.exampleServing("oracle")
        defer {
            _ = process.terminate()
            Task { await fixture.shutdown() }
        }
        let (_, test, _) = try MonitoringTests.exampleRows()
        let sent = try await MonitoringTests.send(test, to: url, fixture: fixture).count
        let report = try await MonitoringTests.report(url, fixture: fixture, logged: sent)
        #expect(report["rows"]?.integerValue == Int64(test.count))

        let lines = try MonitoringTests.exampleCSV().split(separator: "\n", omittingEmptySubsequences: false).filter {
            !$0.isEmpty
        }
        let cut = lines.count - 1 - test.count
        let reference = fixture.directory.appendingPathComponent("reference.csv")
        let live = fixture.directory.appendingPathComponent("live.csv")
        try (lines[0...cut].joined(separator: "\n") + "\n").write(to: reference, atomically: true, encoding: .utf8)
        try ([lines[0]] + lines[(cut + 1)...]).joined(separator: "\n").write(
            to: live, atomically: true, encoding: .utf8)
        let oracle = try await CommandRunner.output([
            python, Trio.repositoryRoot.appendingPathComponent("Tests/Fixtures/drift_oracle.py").path, reference.path,
            live.path, "temp_min,precipitation,wind", "weather",
        ])
        try #require(oracle.status == 0, "\(oracle.stderr)")
        let scipy = try JSONValue.parse(Array(oracle.stdout.utf8))
        for name in ["temp_min", "precipitation", "wind"] {
            let ours = try #require(MonitoringTests.feature(report, name)?["statistics"])
            let theirs = try #require(scipy[name])
            let (ks, scipyKS) = (ours["ks"]!.doubleValue!, theirs["ks"]!.doubleValue!)
            // Binned KS is read at bin edges: never above the raw statistic, at most ~one bin's mass below.
            #expect(ks <= scipyKS + 1e-9 && scipyKS - ks < 0.02, "\(name) KS \(ks) vs scipy \(scipyKS)")
            let (w, scipyW) = (ours["wasserstein"]!.doubleValue!, theirs["wasserstein"]!.doubleValue!)
            #expect(abs(w - scipyW) < 0.02, "\(name) Wasserstein/σ \(w) vs scipy \(scipyW)")
            let (p, scipyP) = (ours["ks_p_value"]!.doubleValue!, theirs["ks_p_value"]!.doubleValue!)
            // Kolmogorov's asymptotic distribution (Stephens' correction) against scipy's exact one: within 5%.
            #expect(abs(p - scipyP) <= 0.05 * max(p, scipyP), "\(name) KS p \(p) vs scipy \(scipyP)")
            print("drift vs scipy \(name): KS \(ks) / \(scipyKS), W/σ \(w) / \(scipyW), p \(p) / \(scipyP)")
        }
        let ours = try #require(MonitoringTests.feature(report, "weather")?["statistics"])
        for key in ["chi_square", "chi_square_p_value", "jensen_shannon"] {
            let (mine, theirs) = (ours[key]!.doubleValue!, scipy["weather"]![key]!.doubleValue!)
            #expect(abs(mine - theirs) <= 1e-9 * max(1, abs(theirs)), "weather \(key) \(mine) vs scipy \(theirs)")
            print("drift vs scipy weather \(key): \(mine) / \(theirs)")
        }
        #expect(
            report["dataset_drift"]?.boolValue == true, "2015 drifts from 2012–2014: \(MonitoringTests.drifted(report))"
        )
    }
}
