import Foundation
import JSON
import Learning
import Testing

@testable import ServingService

/// `explain` on every prediction route, in-process against a real Postgres and real trained
/// models: the contributions add up to what was predicted, name the manifest's features (or a
/// forecast's inputs), come per class for a classifier, as CSV columns and as v2 tensors, and a
/// request that cannot be explained is a 422 naming why.
@Suite("Explanations on the prediction routes", .tags(.routes))
struct ExplanationRouteTests {
    /// Serves `manifest` trained on `csv` in-process.
    static func withServing(
        manifest: String, csv: String, _ body: @Sendable (RouteClient) async throws -> Void
    ) async throws {
        try await ServingRouteTests.withServing(manifest: manifest, csv: csv, maxBodyBytes: 65536) { client, _ in
            try await body(client)
        }
    }

    static func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= 1e-9 * max(1, abs(b)) }

    /// `base_value + Σ contributions` of a regression answer.
    static func total(_ object: JSONValue) throws -> Double {
        let base = try #require(object["base_value"]?.doubleValue)
        let parts = try #require(object["contributions"]?.objectValue)
        return parts.values.reduce(base) { $0 + ($1.doubleValue ?? .nan) }
    }

    static let gradientBoostingManifest = ServingData.regressionManifest.replacingOccurrences(
        of: "model: {algorithm: linear_regression}",
        with: "model: {algorithm: gradient_boosting, params: {iterations: 30, max_leaves: 8}}")

    @Test(
        "regression (linear and boosted trees): JSON, ?explain=true, batches and CSV add up to the prediction",
        arguments: [ServingData.regressionManifest, gradientBoostingManifest])
    func regression(_ manifest: String) async throws {
        try await Self.withServing(manifest: manifest, csv: ServingData.regressionCSV) { client in
            let plain = try await client.send(.post, "/predict", body: #"{"a": 2, "b": 3, "colour": "red"}"#)
            #expect(plain.status == 200)
            #expect(plain.json["contributions"] == nil, "no explanation unless asked for")
            let prediction = try #require(plain.json["prediction"]?.doubleValue)

            let explained = try await client.send(
                .post, "/predict", body: #"{"a": 2, "b": 3, "colour": "red", "explain": true}"#)
            #expect(explained.status == 200, "\(explained.text)")
            #expect(explained.json["prediction"]?.doubleValue == prediction)
            let contributions = try #require(explained.json["contributions"]?.objectValue)
            #expect(
                Set(contributions.keys) == ["a", "b", "colour"], "one per manifest feature, not per one-hot column")
            #expect(Self.close(try Self.total(explained.json), prediction), "\(explained.text)")

            let query = try await client.send(
                .post, "/predict?explain=true", body: #"{"a": 2, "b": 3, "colour": "red"}"#)
            #expect(query.json["contributions"] == explained.json["contributions"])

            let batch = try await client.send(
                .post, "/predict",
                body:
                    #"{"explain": true, "instances": [{"a": 1, "b": 0, "colour": "blue"}, {"a": 7, "b": 2, "colour": "red"}]}"#
            )
            let predictions = try #require(batch.json["predictions"]?.arrayValue)
            let explanations = try #require(batch.json["explanations"]?.arrayValue)
            #expect(explanations.count == 2)
            for (value, explanation) in zip(predictions, explanations) {
                #expect(Self.close(try Self.total(explanation), try #require(value.doubleValue)))
            }

            let csv = try await client.send(
                .post, "/predict?explain=true", body: "a,b,colour\n1,0,blue\n7,2,red\n", contentType: "text/csv")
            let lines = csv.text.split(separator: "\n").map { $0.split(separator: ",").map(String.init) }
            #expect(
                lines.first == ["prediction", "base_value", "contribution_a", "contribution_b", "contribution_colour"])
            for line in lines.dropFirst() {
                let numbers = line.compactMap(Double.init)
                #expect(numbers.count == 5)
                #expect(Self.close(numbers[1...].reduce(0, +), numbers[0]), "\(line)")
            }

            for bad in [
                #"{"a": 2, "b": 3, "colour": "red", "explain": "yes"}"#,
                #"{"a": 2, "b": 3, "colour": "red", "explain": 1}"#,
            ] {
                let reply = try await client.send(.post, "/predict", body: bad)
                #expect(reply.status == 422)
                #expect(reply.problems["explain"]?.contains("true or false") == true, "\(reply.text)")
            }

            // v2: `contributions` [N, F] and `base_value` [N], only when asked for by name.
            let v2Body = """
                {"inputs": [{"name": "a", "datatype": "FP64", "shape": [2], "data": [1, 7]},
                            {"name": "b", "datatype": "FP64", "shape": [2], "data": [0, 2]},
                            {"name": "colour", "datatype": "BYTES", "shape": [2], "data": ["blue", "red"]}],
                 "outputs": [{"name": "prediction"}, {"name": "contributions"}, {"name": "base_value"}]}
                """
            let v2 = try await client.send(.post, "/v2/models/shapes/infer", body: v2Body)
            #expect(v2.status == 200, "\(v2.text)")
            let outputs = try #require(v2.json["outputs"]?.arrayValue)
            func tensor(_ name: String) -> JSONValue? { outputs.first { $0["name"]?.stringValue == name } }
            #expect(tensor("contributions")?["shape"] == .array([.number(2), .number(3)]))
            let values = try #require(tensor("prediction")?["data"]?.arrayValue).compactMap(\.doubleValue)
            let parts = try #require(tensor("contributions")?["data"]?.arrayValue).compactMap(\.doubleValue)
            let bases = try #require(tensor("base_value")?["data"]?.arrayValue).compactMap(\.doubleValue)
            for row in 0..<2 {
                #expect(Self.close(bases[row] + parts[(row * 3)..<(row * 3 + 3)].reduce(0, +), values[row]))
            }
            let defaultOutputs = try await client.send(
                .post, "/v2/models/shapes/infer",
                body: v2Body.replacingOccurrences(
                    of: #", {"name": "contributions"}, {"name": "base_value"}"#, with: ""))
            #expect(defaultOutputs.json["outputs"]?.arrayValue?.count == 1)
        }
    }

    @Test("classification: contributions per class in each class's raw units; v2 [N, C, F]")
    func classification() async throws {
        try await Self.withServing(
            manifest: ServingData.classificationManifest, csv: ServingData.classificationCSV
        ) { client in
            let reply = try await client.send(.post, "/predict?explain=true", body: #"{"x": 0.9, "y": 0.7}"#)
            #expect(reply.status == 200, "\(reply.text)")
            let probabilities = try #require(reply.json["prediction"]?["probabilities"]?.objectValue)
            let bases = try #require(reply.json["base_value"]?.objectValue)
            let contributions = try #require(reply.json["contributions"]?.objectValue)
            #expect(Set(bases.keys) == ["high", "low"])
            for (label, probability) in probabilities {
                // A forest averages its trees' class probabilities: that is its raw output.
                let parts = try #require(contributions[label]?.objectValue)
                #expect(Set(parts.keys) == ["x", "y"])
                let total = parts.values.reduce(try #require(bases[label]?.doubleValue)) {
                    $0 + ($1.doubleValue ?? .nan)
                }
                #expect(Self.close(total, try #require(probability.doubleValue)), "\(label): \(reply.text)")
            }
            let v2 = try await client.send(
                .post, "/v2/models/sides/infer",
                body: """
                    {"inputs": [{"name": "x", "datatype": "FP64", "shape": [3], "data": [0.9, 0.1, 0.5]},
                                {"name": "y", "datatype": "FP64", "shape": [3], "data": [0.7, 0.2, 0.5]}],
                     "outputs": [{"name": "contributions"}, {"name": "base_value"}]}
                    """)
            #expect(v2.status == 200, "\(v2.text)")
            let outputs = try #require(v2.json["outputs"]?.arrayValue)
            #expect(outputs.first?["shape"] == .array([.number(3), .number(2), .number(2)]))
            #expect(outputs.last?["shape"] == .array([.number(3), .number(2)]))
        }
    }

    @Test("forecast: each step is explained over its lag, window and calendar inputs")
    func forecast() async throws {
        try await Self.withServing(manifest: ServingData.forecastManifest, csv: ServingData.forecastCSV) { client in
            let reply = try await client.send(.post, "/predict", body: #"{"horizon": 3, "explain": true}"#)
            #expect(reply.status == 200, "\(reply.text)")
            let steps = try #require(reply.json["forecast"]?.arrayValue)
            #expect(steps.count == 3)
            for step in steps {
                let parts = try #require(step["contributions"]?.objectValue)
                #expect(Set(parts.keys).isSuperset(of: ["lag_1", "lag_7", "weekday", "month", "day_of_year"]))
                #expect(Self.close(try Self.total(step), try #require(step["value"]?.doubleValue)))
            }
        }
    }

    @Test("models without an exact explanation refuse it naming their format and why")
    func refusals() throws {
        let features = [FeatureSpec(name: "x", type: .numeric)]
        let python = ModelArtifact(
            name: "p", version: "v", task: .regression, algorithm: "python", target: "y", features: features,
            predictor: .python(
                PythonModel(
                    module: "main.py", pickleSHA256: "", python: "3.11", requirements: [], reportedMetrics: [:],
                    example: nil, directory: nil)),
            metrics: [:], reference: [:], trainedAt: Date())
        #expect(throws: ExplanationUnavailable.self) { try ModelExplainer(python) }
        do {
            _ = try ModelExplainer(python)
        } catch {
            #expect(error.format == "python" && error.description.contains("black box"), "\(error)")
        }
        // A linear model saved before explanations has no training means: retrain, it says.
        let old = ModelArtifact(
            name: "l", version: "v", task: .regression, algorithm: "linear_regression", target: "y",
            features: features, predictor: .linear(LinearModel(intercept: 1, coefficients: [2])), metrics: [:],
            reference: [:], trainedAt: Date())
        do {
            _ = try ModelExplainer(old)
            Issue.record("a model without training means explained itself")
        } catch {
            #expect(error.reason.contains("retrain"), "\(error)")
        }
    }
}
