import Foundation
import JSON
import ONNX
import Subprocess
import Testing

/// ONNX's own node conformance cases (from the `onnx` wheel, written by
/// Tests/Fixtures/onnx_node_cases.py) for every operator Conveyor claims.
@Suite("ONNX: the onnx package's node conformance cases")
struct ONNXConformanceTests {
    /// Outputs compare as ONNX's backend tests do: rtol 1e-3, atol 1e-7; other types exactly.
    static func matches(_ actual: ONNXTensor, _ expected: ONNXTensor) -> String? {
        guard actual.shape == expected.shape else { return "shape \(actual.shape) != \(expected.shape)" }
        switch (actual.storage, expected.storage) {
        case (.float, .float), (.double, .double):
            let (a, b) = (actual.doubles, expected.doubles)
            for i in a.indices {
                if a[i].isNaN && b[i].isNaN { continue }
                if a[i] == b[i] { continue }
                if abs(a[i] - b[i]) > 1e-7 + 1e-3 * abs(b[i]) { return "element \(i): \(a[i]) != \(b[i])" }
            }
            return nil
        default:
            return actual == expected ? nil : "values differ: \(actual.storage) != \(expected.storage)"
        }
    }

    @Test("every node case of every claimed operator passes (cases needing an unsupported element type are listed)")
    func nodeCases() async throws {
        let python = try #require(ProcessInfo.processInfo.environment["CONVEYOR_TEST_PYTHON"], "the test venv")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "conveyor-onnx-cases-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let script = Trio.repositoryRoot.appendingPathComponent("Tests/Fixtures/onnx_node_cases.py").path
        let made = try await CommandRunner.output([python, script, directory.path] + ONNXModel.supportedOperators)
        try #require(made.status == 0, "\(made.stderr.suffix(3000))")

        let cases = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix("test_") }
            .sorted()
        var passed: [String] = []
        var unsupportedTypes: [String] = []
        for name in cases {
            let folder = directory.appendingPathComponent(name)
            let model: ONNXModel
            do {
                model = try ONNXModel(contentsOf: folder.appendingPathComponent("model.onnx"))
            } catch let error as ONNXError where error.message.contains("element type") {
                unsupportedTypes.append("\(name) (\(error.message))")
                continue
            } catch {
                Issue.record("\(name): does not load: \(error)")
                continue
            }
            let sets = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter {
                $0.hasPrefix("test_data_set_")
            }.sorted()
            var failed = false
            for set in sets {
                let data = folder.appendingPathComponent(set)
                var feeds: [String: ONNXTensor] = [:]
                for (index, input) in model.inputs.enumerated() {
                    let file = data.appendingPathComponent("input_\(index).pb")
                    guard FileManager.default.fileExists(atPath: file.path) else { continue }
                    feeds[input.name] = try ONNXTensor(serializedTensor: Data(contentsOf: file))
                }
                do {
                    let outputs = try model.evaluate(feeds)
                    for (index, output) in outputs.enumerated() {
                        let expected = try ONNXTensor(
                            serializedTensor: Data(contentsOf: data.appendingPathComponent("output_\(index).pb")))
                        guard let tensor = output.tensor else {
                            Issue.record("\(name) \(set): output \(index) is not a tensor")
                            failed = true
                            continue
                        }
                        if let problem = Self.matches(tensor, expected) {
                            Issue.record("\(name) \(set) output \(index): \(problem)")
                            failed = true
                        }
                    }
                } catch {
                    Issue.record("\(name) \(set): \(error)")
                    failed = true
                }
            }
            if !failed { passed.append(name) }
        }
        #expect(passed.count >= 290, "\(passed.count) cases passed")
        print("ONNX node cases passed (\(passed.count)):\n  " + passed.joined(separator: "\n  "))
        print(
            "ONNX node cases needing an element type Conveyor does not evaluate (\(unsupportedTypes.count)):\n  "
                + unsupportedTypes.joined(separator: "\n  "))
    }
}
