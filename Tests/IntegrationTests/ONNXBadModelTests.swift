import Foundation
import Learning
import Subprocess
import Testing

@testable import TrainerService

/// Broken ONNX files fail the training run with a reason that names the
/// problem, before anything reaches serving (Tests/Fixtures/onnx_bad_models.py).
@Suite("ONNX: bad model files fail the run with a clear reason")
struct ONNXBadModelTests {
    static let manifest = ONNXRepository.manifest(model: "{format: onnx, path: model.onnx}")

    static func repository(_ name: String, fixtures: URL) throws -> URL {
        try ONNXRepository.make(name, manifest: manifest, fixtures: fixtures, model: name, as: "model.onnx")
    }

    @Test("truncated, unknown operator, cycle, wrong width, a reshape the data breaks, a string for a number")
    func badFiles() async throws {
        let fixtures = try await ONNXRepository.fixtures()
        defer { try? FileManager.default.removeItem(at: fixtures) }

        // The valid one trains, gates at rmse 0 and writes an artifact that loads back to the same predictions.
        let outcome = try TrainingPipeline(repository: try Self.repository("valid", fixtures: fixtures)).run(
            version: "v1", baseline: nil, log: { _ in })
        #expect(outcome.gates.allSatisfy { $0.passed }, "\(outcome.gates)")
        #expect((outcome.artifact.metrics["rmse"] ?? 1) < 1e-5)
        let written = try ArtifactStore.write(outcome.artifact, manifestYAML: Self.manifest, root: fixtures)
        let loaded = try ArtifactStore.load(from: written.path, expectedSHA256: written.sha256)
        #expect(loaded.predict(encoded: [1, 2, 3]) == outcome.artifact.predict(encoded: [1, 2, 3]))
        #expect(abs(loaded.predict(encoded: [1, 2, 3]) - 6) < 1e-5)

        let cases: [(String, String)] = [
            ("truncated", "not an ONNX model"),
            ("unknown_operator", "operator ai.onnx.FancyOp is not supported"),
            ("cycle", "cycle"),
            ("wrong_width", "model input \"X\" has 5 columns but conveyor.yaml lists 3 features"),
            ("reshape_mismatch", "does not run on the test data"),
            ("string_for_number", "model input \"a\" is string but the feature is numeric"),
        ]
        for (name, reason) in cases {
            let repo = try Self.repository(name, fixtures: fixtures)
            do {
                _ = try TrainingPipeline(repository: repo).run(version: "v-\(name)", baseline: nil, log: { _ in })
                Issue.record("\(name): the run succeeded")
            } catch let failure as TrainingFailure {
                #expect(failure.reason.contains(reason), "\(name): \(failure)")
            }
        }
    }
}
