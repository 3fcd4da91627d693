import Foundation
import Learning
import Synchronization

/// A deployed model ready to answer, with what `GET /` shows about it.
public struct LoadedModel: Sendable {
    public let artifact: ModelArtifact
    public let encoder: FeatureEncoder
    public let deployment: DeploymentRecord

    public init(artifact: ModelArtifact, deployment: DeploymentRecord) {
        self.artifact = artifact
        self.encoder = artifact.encoder
        self.deployment = deployment
    }
}

/// The model currently serving. A swap replaces the reference atomically:
/// requests that already took the old model finish on it.
public final class ModelStore: Sendable {
    private let current = Mutex<LoadedModel?>(nil)

    public init() {}

    /// The model to answer with now, if one is loaded.
    public var model: LoadedModel? { current.withLock { $0 } }

    /// Makes `model` the one new requests use.
    public func swap(to model: LoadedModel) {
        current.withLock { $0 = model }
    }
}
