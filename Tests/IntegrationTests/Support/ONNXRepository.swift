import Foundation
import Subprocess
import Testing

/// Small model repositories for the ONNX trainer tests: y = 2a + 3b - c + 1
/// over 200 rows, and the models of Tests/Fixtures/onnx_bad_models.py.
enum ONNXRepository {
    /// conveyor.yaml over data.csv with `model` (and `train`, when given) and a gate of rmse 0.001.
    static func manifest(model: String, train: String? = nil) -> String {
        """
        name: onnx-repository
        task: regression
        data: {path: data.csv, split: {test_fraction: 0.25}}
        target: y
        features:
          - {name: a, type: numeric}
          - {name: b, type: numeric}
          - {name: c, type: numeric}
        model: \(model)
        \(train.map { "train: \($0)" } ?? "")
        gates:
          rmse: {max: 0.001}
        """
    }

    /// Runs onnx_bad_models.py into a fresh directory (readable by an unprivileged user).
    static func fixtures() async throws -> URL {
        let python = try #require(ProcessInfo.processInfo.environment["CONVEYOR_TEST_PYTHON"], "the test venv")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "conveyor-onnx-fixtures-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        _ = chmod(directory.path, 0o755)
        let script = Trio.repositoryRoot.appendingPathComponent("Tests/Fixtures/onnx_bad_models.py").path
        let made = try await CommandRunner.output([python, script, directory.path])
        try #require(made.status == 0, "\(made.stderr)")
        return directory
    }

    /// Writes `fixtures/repo-NAME` with `manifest`, data.csv and fixture `model`.onnx copied to `target`.
    static func make(_ name: String, manifest: String, fixtures: URL, model: String, as target: String) throws -> URL {
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
            at: fixtures.appendingPathComponent("\(model).onnx"), to: repo.appendingPathComponent(target))
        return repo
    }
}
