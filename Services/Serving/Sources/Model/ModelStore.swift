import Foundation
import Learning
import Metrics
import Registry
import ServiceKit
import Synchronization

/// The model currently serving. A swap replaces the reference atomically:
/// requests that already took the old model finish on it.
public final class ModelStore: Sendable {
    private let current = Mutex<LoadedModel?>(nil)
    /// `conveyor_live_model_info{model,version} 1`: which version this replica answers with.
    private let liveInfo = InfoGauge(label: "conveyor_live_model_info")

    public init() {}

    /// The model to answer with now, if one is loaded.
    public var model: LoadedModel? { current.withLock { $0 } }

    /// Makes `model` the one new requests use.
    public func swap(to model: LoadedModel) {
        current.withLock { $0 = model }
        liveInfo.set([("model", model.artifact.name), ("version", model.deployment.version)])
    }
}
