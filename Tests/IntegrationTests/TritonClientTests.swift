import Foundation
import Postgres
import Subprocess
import Testing

/// The Open Inference Protocol as Triton's own Python clients call it, over
/// HTTP (`Tests/Fixtures/triton_http.py`, PyPI `tritonclient[http]`: binary
/// tensors by default, JSON tensors, requested outputs, batches,
/// classification outputs, malformed binary bodies) and over gRPC
/// (`Tests/Fixtures/triton_grpc.py`, `tritonclient[grpc]`: raw and typed
/// contents, BYTES, batches, errors, a message over the size limit; and
/// `Tests/Fixtures/kserve_grpc.py`, KServe's own `InferenceGRPCClient`).
@Suite("Open Inference Protocol with tritonclient.http and tritonclient.grpc", .serialized)
struct TritonClientTests {
    @discardableResult
    static func run(_ fixture: String, _ arguments: [String]) async throws -> String {
        let python = try #require(
            ProcessInfo.processInfo.environment["CONVEYOR_TEST_PYTHON"],
            "CONVEYOR_TEST_PYTHON names the test venv's python (deploy/local.sh test sets it)")
        let script = Trio.repositoryRoot.appendingPathComponent("Tests/Fixtures/\(fixture)").path
        let result = try await CommandRunner.output([python, script] + arguments)
        #expect(result.status == 0, "\(arguments.last ?? ""):\n\(result.stdout)\(result.stderr.suffix(3000))")
        return result.stdout
    }

    static func run(_ base: String, model: String, mode: String) async throws {
        try await run("triton_http.py", [base, model, mode])
    }

    @Test("regression with FP64 and BYTES tensors, and classification with FP32 tensors, equal POST /predict")
    func realClient() async throws {
        let fixture = try await ServingFixture()
        let regression = try await fixture.deploy(
            manifest: ServingData.regressionManifest, csv: ServingData.regressionCSV, pr: 1)
        let (process, url) = try await fixture.launchServing("serving-triton")
        defer { _ = process.terminate() }
        try await fixture.waitForVersion(regression, at: url)
        try await Self.run(url, model: "shapes", mode: "regression")
        let classifier = try await fixture.deploy(
            manifest: ServingData.classificationManifest, csv: ServingData.classificationCSV, pr: 2)
        try await fixture.waitForVersion(classifier, at: url)
        try await Self.run(url, model: "sides", mode: "classification")
        #expect(process.isRunning)
        await fixture.shutdown()
    }

    @Test("gRPC: health, metadata, raw and typed contents, batches and errors equal POST /predict, logged alike")
    func grpcClient() async throws {
        let fixture = try await ServingFixture()
        let port = try FreePort.find()
        let address = "127.0.0.1:\(port)"
        let (process, url) = try await fixture.launchServing("serving-triton-grpc", settings: ["GRPC_PORT": "\(port)"])
        defer { _ = process.terminate() }
        try await Self.run("triton_grpc.py", [url, address, "shapes", "empty"])
        let regression = try await fixture.deploy(
            manifest: ServingData.regressionManifest, csv: ServingData.regressionCSV, pr: 1)
        try await fixture.waitForVersion(regression, at: url)
        let output = try await Self.run("triton_grpc.py", [url, address, "shapes", "regression"])
        // KServe's own client (its own venv: its pins differ from the test venv's): typed and raw contents.
        let kserve = try #require(
            ProcessInfo.processInfo.environment["CONVEYOR_KSERVE_PYTHON"],
            "CONVEYOR_KSERVE_PYTHON names the kserve venv's python (deploy/local.sh test sets it)")
        let script = Trio.repositoryRoot.appendingPathComponent("Tests/Fixtures/kserve_grpc.py").path
        let kserveResult = try await CommandRunner.output([kserve, script, url, address, "shapes"])
        #expect(kserveResult.status == 0, "kserve:\n\(kserveResult.stdout)\(kserveResult.stderr.suffix(3000))")

        // The same rows over gRPC and over HTTP /v2 leave the same log row but for the request id.
        let ids = try #require(output.split(separator: "\n").first { $0.hasPrefix("logged ") })
            .split(separator: " ").dropFirst().map { String($0.split(separator: "=").last ?? "") }
        try #require(ids.count == 2 && ids.allSatisfy { !$0.isEmpty }, "\(output)")
        let logged = try await eventually(timeout: 10, "both calls in prediction_log") {
            let rows = try await fixture.database.query(
                """
                SELECT request_id, model_version, inputs::text AS inputs, outputs::text AS outputs FROM prediction_log
                WHERE request_id IN (\(ids[0]), \(ids[1])) ORDER BY request_id = \(ids[0]) DESC
                """)
            return rows.count == 2 ? Array(rows) : nil
        }
        for column in ["model_version", "inputs", "outputs"] {
            let (grpc, http) = (
                try logged[0].decode(column, as: String.self), try logged[1].decode(column, as: String.self)
            )
            #expect(grpc == http, "\(column): gRPC \(grpc), HTTP \(http)")
        }
        #expect(try logged[0].decode("model_version", as: String.self) == regression)

        // A hot swap: the same port answers with the classifier.
        let classifier = try await fixture.deploy(
            manifest: ServingData.classificationManifest, csv: ServingData.classificationCSV, pr: 2)
        try await fixture.waitForVersion(classifier, at: url)
        try await Self.run("triton_grpc.py", [url, address, "sides", "classification"])
        #expect(process.isRunning)
        let metrics = try await fixture.request("GET", "\(url)/metrics").text
        #expect(metrics.contains(#"conveyor_grpc_requests_total{method="ModelInfer",code="OK"}"#), "\(metrics)")
        #expect(metrics.contains(#"conveyor_prediction_rejections_total{reason="invalid_input"}"#))
        await fixture.shutdown()
    }
}
