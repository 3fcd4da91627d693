import Foundation
import Learning
import Subprocess
import Testing

@testable import TrainerService

/// Broken ONNX files fail the training run with a reason that names the
/// problem, before anything reaches serving (Tests/Fixtures/onnx_bad_models.py).
@Suite("ONNX: bad model files fail the run with a clear reason")
struct ONNXBadModelTests {
    static let manifest = """
        name: bad-onnx
        task: regression
        data: {path: data.csv, split: {test_fraction: 0.25}}
        target: y
        features:
          - {name: a, type: numeric}
          - {name: b, type: numeric}
          - {name: c, type: numeric}
        model: {format: onnx, path: model.onnx}
        gates:
          rmse: {max: 0.001}
        """

    /// A repository whose model.onnx is fixture `name`; y = 2a + 3b - c + 1 exactly.
    static func repository(_ name: String, fixtures: URL) throws -> URL {
        let repo = fixtures.appendingPathComponent("repo-\(name)")
        try FileManager.default.createDirectory(at: repo, withIntermediateDirectories: true)
        try manifest.write(to: repo.appendingPathComponent("conveyor.yaml"), atomically: true, encoding: .utf8)
        let rows = (0..<200).map { i -> String in
            let (a, b, c) = (Double(i % 17) / 4, Double(i % 5), Double(i % 11) - 3)
            return "\(a),\(b),\(c),\(2 * a + 3 * b - c + 1)"
        }
        try ("a,b,c,y\n" + rows.joined(separator: "\n")).write(
            to: repo.appendingPathComponent("data.csv"), atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(
            at: fixtures.appendingPathComponent("\(name).onnx"), to: repo.appendingPathComponent("model.onnx"))
        return repo
    }

    @Test("truncated, unknown operator, cycle, wrong width, a reshape the data breaks, a string for a number")
    func badFiles() async throws {
        let python = try #require(ProcessInfo.processInfo.environment["CONVEYOR_TEST_PYTHON"], "the test venv")
        let fixtures = FileManager.default.temporaryDirectory.appendingPathComponent(
            "conveyor-bad-onnx-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: fixtures, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: fixtures) }
        let script = Trio.repositoryRoot.appendingPathComponent("Tests/Fixtures/onnx_bad_models.py").path
        let made = try await CommandRunner.output([python, script, fixtures.path])
        try #require(made.status == 0, "\(made.stderr)")

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
