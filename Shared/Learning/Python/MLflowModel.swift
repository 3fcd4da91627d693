import Crypto
import Foundation
import JSON
import Yams

/// What Conveyor reads of an MLflow model directory (`MLmodel` and its files):
/// that it has a `python_function` flavor, its input signature checked
/// against the manifest's features, and the hash the worker checks before
/// loading it. The directory must be flat (MLflow's sklearn, xgboost and
/// lightgbm flavors write it so).
public enum MLflowModel {
    /// Where each file of the directory is kept beside `model.json`.
    public static let prefix = "mlflow."

    /// One input column of a model's signature.
    public struct Input: Sendable, Equatable {
        public var name: String
        public var type: String
        public var required: Bool
    }

    /// The signature's input columns, or nil when the model has none (or a tensor signature).
    public static func signature(mlmodel: String) throws -> [Input]? {
        let document: Any?
        do {
            document = try Yams.load(yaml: mlmodel)
        } catch {
            throw DataProblem(problem: "MLmodel is not valid YAML: \(error)")
        }
        guard let root = document as? [String: Any] else { throw DataProblem(problem: "MLmodel is not a mapping") }
        guard let flavors = root["flavors"] as? [String: Any], flavors["python_function"] != nil else {
            throw DataProblem(problem: "MLmodel has no python_function flavor: mlflow.pyfunc cannot load it")
        }
        guard let signature = root["signature"] as? [String: Any], let inputs = signature["inputs"] as? String,
            let parsed = (try? JSONValue.parse(Array(inputs.utf8)))?.arrayValue
        else { return nil }
        let columns = parsed.compactMap { column -> Input? in
            guard let name = column["name"]?.stringValue, let type = column["type"]?.stringValue else { return nil }
            return Input(name: name, type: type, required: column["required"]?.boolValue ?? true)
        }
        return columns.count == parsed.count ? columns : nil
    }

    /// The MLflow column types a feature of each kind may have.
    static let compatible: [FeatureSpec.Kind: Set<String>] = [
        .numeric: ["double", "float", "long", "integer"],
        .categorical: ["string"],
        .boolean: ["boolean", "long", "integer", "double", "float"],
        .date: ["datetime", "string"],
    ]

    /// Throws naming the first column where the signature and the features disagree: a
    /// feature the signature lacks, a required input the features lack, or a type mismatch.
    public static func check(_ inputs: [Input], features: [FeatureSpec]) throws {
        let byName = Dictionary(inputs.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for feature in features {
            guard let input = byName[feature.name] else {
                throw DataProblem(
                    problem:
                        "features: \"\(feature.name)\" is not an input of the MLflow model's signature (it has \(inputs.map(\.name).joined(separator: ", ")))"
                )
            }
            guard compatible[feature.type]?.contains(input.type) == true else {
                throw DataProblem(
                    problem:
                        "features: \"\(feature.name)\" is \(feature.type.rawValue) in conveyor.yaml but \(input.type) in the MLflow model's signature"
                )
            }
        }
        let names = Set(features.map(\.name))
        if let missing = inputs.first(where: { $0.required && !names.contains($0.name) }) {
            throw DataProblem(
                problem:
                    "features: the MLflow model's signature requires \"\(missing.name)\" (\(missing.type)), which conveyor.yaml does not list"
            )
        }
    }

    /// sha256 over the kept files' sorted names, each followed by a NUL and the file's own sha256
    /// (what the worker checks against `CONVEYOR_MODEL_SHA256` before loading anything).
    public static func digest(of directory: URL, names: [String]) throws -> String {
        var hasher = SHA256()
        for name in names.sorted() {
            let data = try Data(contentsOf: directory.appendingPathComponent(name))
            hasher.update(data: Data(name.utf8) + Data([0]) + Data(SHA256.hash(data: data)))
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
