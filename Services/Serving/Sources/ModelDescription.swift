import Foundation
import Learning
import ServiceKit

/// What `GET /` says about the deployed model: its version, pull request,
/// commit, metrics, gate results and feature schema.
struct ModelDescription: Encodable {
    let model: String
    let task: String
    let algorithm: String
    let version: String
    let deployed_at: Date
    let deployment_reason: String
    let pull_request: PullRequestInfo
    let commit: String
    let trained_at: Date
    let metrics: [String: Double]
    let gates: JSONValue?
    let target: String
    let classes: [String]?
    let features: [FeatureInfo]
    let forecast: ForecastInfo?

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

    struct ForecastInfo: Encodable {
        let last_date: String
        let max_horizon: Int
        let step_days: Int
    }

    init(_ loaded: LoadedModel) {
        let deployment = loaded.deployment
        let artifact = loaded.artifact
        model = artifact.name
        task = artifact.task.rawValue
        algorithm = artifact.algorithm
        version = deployment.version
        deployed_at = deployment.deployedAt
        deployment_reason = deployment.reason
        pull_request = PullRequestInfo(
            number: deployment.prNumber, title: deployment.prTitle, author: deployment.prAuthor)
        commit = deployment.commitSHA
        trained_at = artifact.trainedAt
        metrics = artifact.metrics
        gates = deployment.gatesJSON.flatMap { try? JSONValue.parse(Array($0.utf8)) }
        target = artifact.target
        classes = artifact.classes
        features = artifact.features.map {
            FeatureInfo(
                name: $0.name, type: $0.type.rawValue, min: $0.min, max: $0.max, categories: $0.categories,
                missing: ($0.missing ?? .reject).rawValue,
                unknown: $0.type == .categorical ? ($0.unknown ?? .reject).rawValue : nil)
        }
        forecast = artifact.forecast.map {
            ForecastInfo(last_date: $0.lastDate, max_horizon: $0.maxHorizon, step_days: $0.step)
        }
    }
}
