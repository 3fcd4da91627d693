import Foundation
import Learning
import Testing

/// `model: {format: python}` in conveyor.yaml: what parses, and every problem named by its key.
@Suite("Python model manifests")
struct PythonManifestTests {
    static func manifest(model: String, extra: String = "") -> String {
        """
        name: m
        task: regression
        data: {path: d.csv, split: {test_fraction: 0.2}}
        target: y
        features: [{name: x, type: numeric, missing: native}]
        model: \(model)
        \(extra)
        """
    }

    @Test("a python model parses with its defaults")
    func parses() throws {
        let manifest = try Manifest.parse(Self.manifest(model: "{format: python, requirements: requirements.txt}"))
        #expect(manifest.model.isPython && !manifest.model.isONNX && !manifest.model.isBuiltIn)
        #expect(manifest.model.algorithm == "python")
        #expect(manifest.model.resolvedModule == "main.py")
        #expect(manifest.model.resolvedTimeout == .seconds(1200))
        // A forecast may be a Python model too (ONNX may not).
        let forecast = try Manifest.parse(
            """
            name: f
            task: forecast
            data: {path: d.csv, split: {test_fraction: 0.2}}
            target: y
            forecast: {date: day}
            model: {format: python, module: src/model.py, timeout: 90s}
            """)
        #expect(forecast.model.resolvedModule == "src/model.py" && forecast.model.resolvedTimeout == .seconds(90))
    }

    @Test(
        "each mistake names its key",
        arguments: [
            ("{format: python, module: ../main.py}", "", "model.module"),
            ("{format: python, module: main.txt}", "", "model.module"),
            ("{format: python, module: 2model.py}", "", "model.module"),
            ("{format: python, requirements: /etc/passwd}", "", "model.requirements"),
            ("{format: python, timeout: forever}", "", "model.timeout"),
            ("{format: python, timeout: 48h}", "", "model.timeout"),
            ("{format: python, path: models/m.pkl}", "", "model.path"),
            ("{format: python, params: {trees: 3}}", "", "model.params"),
            ("{format: python, algorithm: random_forest}", "", "model.algorithm"),
            ("{format: pickle}", "", "model.format"),
            ("{format: python}", "train: {command: [python3, t.py]}", "train"),
            ("{format: mlflow}", "", "model.path"),
            ("{format: mlflow, path: ../m}", "", "model.path"),
            ("{format: mlflow, path: models/m, module: main.py}", "", "model.module"),
            ("{format: mlflow, path: models/m, requirements: r.txt}", "", "model.requirements"),
        ])
    func problems(model: String, extra: String, key: String) {
        do {
            _ = try Manifest.parse(Self.manifest(model: model, extra: extra))
            Issue.record("\(model) should not parse")
        } catch let problem as Manifest.Problem {
            #expect(problem.key == key, "\(problem)")
        } catch {
            Issue.record("\(error)")
        }
    }

    @Test("an MLflow model parses from a path or from train:")
    func mlflowParses() throws {
        let committed = try Manifest.parse(Self.manifest(model: "{format: mlflow, path: models/price}"))
        #expect(committed.model.isMLflow && committed.model.algorithm == "mlflow")
        let trained = try Manifest.parse(
            Self.manifest(model: "{format: mlflow}", extra: "train: {command: [python3, train.py]}"))
        #expect(trained.train?.resolvedMLflowOutput == "mlflow-model")
    }

    @Test("pandas is added to requirements that lack it, and only then")
    func pandasAdded() {
        let added = String(decoding: PythonEnvironments.withPandas(Data("scikit-learn>=1.4".utf8)), as: UTF8.self)
        #expect(added == "scikit-learn>=1.4\npandas\n")
        let kept = Data("numpy\nPandas>=2.0 ; python_version>'3'\n".utf8)
        #expect(PythonEnvironments.withPandas(kept) == kept)
        #expect(String(decoding: PythonEnvironments.withPandas(Data()), as: UTF8.self) == "pandas\n")
        // "pandas-stubs" is not pandas.
        #expect(
            String(decoding: PythonEnvironments.withPandas(Data("pandas-stubs\n".utf8)), as: UTF8.self).hasSuffix(
                "\npandas\n"))
    }
}
