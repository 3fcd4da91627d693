import Foundation
import JSON
import ONNX
import Subprocess
import Testing

/// Conveyor's ONNX evaluator against onnxruntime on models scikit-learn,
/// LightGBM and XGBoost export (Tests/Fixtures/onnx_models.py, in the test venv).
@Suite("ONNX: Conveyor's evaluator equals onnxruntime")
struct ONNXOracleTests {
    static var python: String? { ProcessInfo.processInfo.environment["CONVEYOR_TEST_PYTHON"] }

    /// Exports the fixture models into a fresh directory; nil (with a recorded issue) when the venv lacks the tools.
    static func exportModels() async throws -> URL {
        let python = try #require(python, "CONVEYOR_TEST_PYTHON names the test venv (deploy/local.sh test sets it)")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "conveyor-onnx-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let result = try await CommandRunner.output([
            python, root.appendingPathComponent("Tests/Fixtures/onnx_models.py").path, directory.path,
            root.appendingPathComponent("deploy/example-model/data/seattle-weather.csv").path,
        ])
        #expect(result.status == 0, "onnx_models.py: \(result.stderr.suffix(3000))")
        print(result.stdout)
        return directory
    }

    /// A tensor from the fixture's JSON form (null stands for NaN).
    static func tensor(_ json: JSONValue) throws -> ONNXTensor {
        let shape = try #require(json["shape"]?.arrayValue).compactMap { $0.integerValue.map(Int.init) }
        let data = try #require(json["data"]?.arrayValue)
        switch json["type"]?.stringValue {
        case "float": return ONNXTensor(floats: data.map { Float($0.doubleValue ?? .nan) }, shape: shape)
        case "double": return ONNXTensor(doubles: data.map { $0.doubleValue ?? .nan }, shape: shape)
        case "int64": return ONNXTensor(int64s: data.map { $0.integerValue ?? 0 }, shape: shape)
        case "string": return ONNXTensor(strings: data.map { $0.stringValue ?? "" }, shape: shape)
        case "bool": return ONNXTensor(bools: data.map { $0.boolValue ?? false }, shape: shape)
        default: throw ONNXError("fixture: unknown type \(json["type"]?.stringValue ?? "?")")
        }
    }

    /// Whether `actual` is within `relative` of `expected` (absolute for magnitudes below 1).
    static func close(_ actual: Double, _ expected: Double, relative: Double) -> Bool {
        if expected.isNaN { return actual.isNaN }
        return abs(actual - expected) <= relative * max(1, abs(expected))
    }

    /// Compares one output; returns the first difference, or nil.
    static func difference(_ actual: ONNXValue, _ expected: JSONValue, model: String) throws -> String? {
        if expected["type"]?.stringValue == "maps" {
            guard case .maps(let labels, let rows) = actual else { return "expected maps, got a tensor" }
            let wanted = try #require(expected["labels"]?.arrayValue).compactMap(\.stringValue)
            let have: [String] =
                switch labels {
                case .int64(let v): v.map(String.init)
                case .string(let v): v
                default: []
                }
            guard have == wanted else { return "labels \(have) != \(wanted)" }
            let data = try #require(expected["data"]?.arrayValue)
            guard data.count == rows.count else { return "\(rows.count) rows, expected \(data.count)" }
            for (r, row) in data.enumerated() {
                for (c, value) in (row.arrayValue ?? []).enumerated()
                where !close(Double(rows[r][c]), value.doubleValue ?? .nan, relative: 1e-5) {
                    return "row \(r) class \(wanted[c]): \(rows[r][c]) != \(value.doubleValue ?? .nan)"
                }
            }
            return nil
        }
        guard case .tensor(let tensor) = actual else { return "expected a tensor, got maps" }
        let want = try Self.tensor(expected)
        guard tensor.shape == want.shape else { return "shape \(tensor.shape) != \(want.shape)" }
        switch (tensor.storage, want.storage) {
        case (.string(let a), .string(let b)):
            if let i = a.indices.first(where: { a[$0] != b[$0] }) { return "element \(i): \(a[i]) != \(b[i])" }
        case (.int64(let a), .int64(let b)):
            if let i = a.indices.first(where: { a[$0] != b[$0] }) { return "element \(i): \(a[i]) != \(b[i])" }
        case (.float(let a), .float(let b)):
            if let i = a.indices.first(where: { !close(Double(a[$0]), Double(b[$0]), relative: 1e-5) }) {
                return "element \(i): \(a[i]) != \(b[i])"
            }
        case (.double(let a), .double(let b)):
            if let i = a.indices.first(where: { !close(a[$0], b[$0], relative: 1e-9) }) {
                return "element \(i): \(a[i]) != \(b[i])"
            }
        default: return "type \(tensor.elementType) != \(want.elementType)"
        }
        return nil
    }

    @Test("scikit-learn, LightGBM and XGBoost exports: labels identical, values within 1e-5 (float) and 1e-9 (double)")
    func matchesOnnxRuntime() async throws {
        let directory = try await Self.exportModels()
        defer { try? FileManager.default.removeItem(at: directory) }
        let index = try JSONValue.parse(Data(contentsOf: directory.appendingPathComponent("index.json")))
        let names = try #require(index["models"]?.arrayValue).compactMap(\.stringValue)
        #expect(names.count >= 20, "at least 20 models exported: \(names)")
        var compared: [String] = []
        for name in names {
            let model = try ONNXModel(contentsOf: directory.appendingPathComponent("\(name).onnx"))
            let fixture = try JSONValue.parse(Data(contentsOf: directory.appendingPathComponent("\(name).json")))
            var feeds: [String: ONNXTensor] = [:]
            for (input, json) in fixture["inputs"]?.objectValue ?? [:] { feeds[input] = try Self.tensor(json) }
            let rows = feeds.values.first?.shape.first ?? 0
            #expect(rows >= 1000, "\(name): \(rows) rows")
            let outputs = try model.run(feeds)
            for (output, expected) in fixture["outputs"]?.objectValue ?? [:] {
                guard let actual = outputs[output] else {
                    Issue.record("\(name): output \(output) is missing")
                    continue
                }
                if let problem = try Self.difference(actual, expected, model: name) {
                    Issue.record(
                        "\(name) output \(output): \(problem) (producer \(model.producer), ops \(model.operatorsUsed))")
                }
            }
            compared.append("\(name) [\(model.operatorsUsed.joined(separator: " "))]")
        }
        print("compared with onnxruntime:\n  " + compared.joined(separator: "\n  "))
    }
}
