import Foundation
import Subprocess
import Testing

/// `/v2` as Triton's own Python client calls it (`Tests/Fixtures/triton_http.py`,
/// PyPI `tritonclient[http]`): binary tensors by default, JSON tensors,
/// requested outputs, batches, classification outputs, malformed binary bodies.
@Suite("Open Inference Protocol with tritonclient.http", .serialized)
struct TritonClientTests {
    static func run(_ base: String, model: String, mode: String) async throws {
        let python = try #require(
            ProcessInfo.processInfo.environment["CONVEYOR_TEST_PYTHON"],
            "CONVEYOR_TEST_PYTHON names the test venv's python (deploy/local.sh test sets it)")
        let script = Trio.repositoryRoot.appendingPathComponent("Tests/Fixtures/triton_http.py").path
        let result = try await CommandRunner.output([python, script, base, model, mode])
        #expect(result.status == 0, "\(mode):\n\(result.stdout)\(result.stderr.suffix(3000))")
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
}
