import Foundation
import JSON
import Learning
import Registry

/// What `GET /` says about the deployed model: its version, pull request,
/// commit, metrics, gate results and feature schema.
struct ModelDescription: Encodable {
    let model: String
    let task: String
    let algorithm: String
    let version: String
    let deployedAt: Date
    let deploymentReason: String
    let pullRequest: PullRequestInfo
    let commit: String
    let trainedAt: Date
    let metrics: [String: Double]
    let gates: JSONValue?
    let target: String
    let classes: [String]?
    let features: [FeatureInfo]
    let forecast: ForecastInfo?
    /// `conveyor` for built-in learners, `onnx` or `python` for a repository's own model.
    let format: String
    /// For Python models: the module, the interpreter, its `info()` and its `evaluate()`.
    let python: PythonInfo?
    /// For ONNX models: the exporter (`skl2onnx 1.20.0`) and opset versions by domain.
    let producer: String?
    let opsets: [String: Int]?

    enum CodingKeys: String, CodingKey {
        case model, task, algorithm, version, format, producer, opsets, python
        case deployedAt = "deployed_at"
        case deploymentReason = "deployment_reason"
        case pullRequest = "pull_request"
        case commit
        case trainedAt = "trained_at"
        case metrics, gates, target, classes, features, forecast
    }

    struct PullRequestInfo: Encodable {
        let number: Int64
        let title: String?
        let author: String?
    }

    struct FeatureInfo: Encodable {
        let name: String
        let type: String
        let min: Double?
        let max: Double?
        let categories: [String]?
        let missing: String
        let unknown: String?
    }

    struct PythonInfo: Encodable {
        let module: String
        let python: String
        let info: JSONValue?
        let reportedMetrics: [String: Double]
        let workers: Int

        enum CodingKeys: String, CodingKey {
            case module, python, info, workers
            case reportedMetrics = "reported_metrics"
        }
    }

    struct ForecastInfo: Encodable {
        let lastDate: String
        let maxHorizon: Int
        let stepDays: Int

        enum CodingKeys: String, CodingKey {
            case lastDate = "last_date"
            case maxHorizon = "max_horizon"
            case stepDays = "step_days"
        }
    }

    init(_ loaded: LoadedModel) {
        let deployment = loaded.deployment
        let artifact = loaded.artifact
        model = artifact.name
        task = artifact.task.rawValue
        algorithm = artifact.algorithm
        version = deployment.version
        deployedAt = deployment.deployedAt
        deploymentReason = deployment.reason
        pullRequest = PullRequestInfo(
            number: deployment.prNumber, title: deployment.prTitle, author: deployment.prAuthor)
        commit = deployment.commitSHA
        trainedAt = artifact.trainedAt
        metrics = artifact.metrics
        gates = deployment.gates
        target = artifact.target
        classes = artifact.classes
        features = artifact.features.map {
            FeatureInfo(
                name: $0.name, type: $0.type.rawValue, min: $0.min, max: $0.max, categories: $0.categories,
                missing: ($0.missing ?? .reject).rawValue,
                unknown: $0.type == .categorical ? ($0.unknown ?? .reject).rawValue : nil)
        }
        if case .onnx(let onnx) = artifact.predictor {
            format = "onnx"
            producer = onnx.model.producer
            opsets = onnx.model.opsets
        } else {
            format = artifact.python == nil ? "conveyor" : "python"
            producer = nil
            opsets = nil
        }
        python = artifact.python.map { model in
            PythonInfo(
                module: model.module, python: model.python.split(separator: " ").first.map(String.init) ?? model.python,
                info: model.info.flatMap { try? JSONValue.parse($0) }, reportedMetrics: model.reportedMetrics,
                workers: loaded.python?.settings.workers ?? 0)
        }
        forecast = artifact.forecast.map {
            ForecastInfo(lastDate: $0.lastDate, maxHorizon: $0.maxHorizon, stepDays: $0.step)
        }
    }
}
