import Foundation
import Learning
import Metrics
import Registry
import ServiceKit
import Synchronization

/// The models serving now, one live version per model name. A swap replaces
/// one model's reference atomically: requests that already took the old
/// version finish on it, and the other models are untouched.
public final class ModelStore: Sendable {
    private let loaded = Mutex<[String: LoadedModel]>([:])
    /// The artifact path of the version each model answered with before its last swap.
    private let previousPaths = Mutex<[String: String]>([:])
    /// `conveyor_live_model_info{model,version} 1`, one series per model: which version this
    /// replica answers each model with.
    private let liveInfo = Mutex<[String: InfoGauge]>([:])

    public init() {}

    /// Every loaded model, by name.
    public var models: [LoadedModel] { loaded.withLock { $0.values.sorted { $0.name < $1.name } } }

    /// The names of the loaded models, sorted.
    public var names: [String] { loaded.withLock { $0.keys.sorted() } }

    /// Whether at least one model is loaded.
    public var isEmpty: Bool { loaded.withLock { $0.isEmpty } }

    /// The loaded model named `name`, if any.
    public func model(named name: String) -> LoadedModel? { loaded.withLock { $0[name] } }

    /// The only model, when exactly one is loaded (what the unprefixed routes answer with).
    public var model: LoadedModel? {
        loaded.withLock { $0.count == 1 ? $0.first?.value : nil }
    }

    /// The model a request is for: `name` (from a `/models/{name}/…` route), or the only one.
    /// 503 while none is loaded; 404 naming the loaded ones for an unknown name; 409 naming them
    /// when the route names none and several are served.
    public func resolve(_ name: String?) throws -> LoadedModel {
        let models = loaded.withLock { $0 }
        let choices = models.keys.sorted().map { "\"\($0)\"" }.joined(separator: ", ")
        if let name {
            if let model = models[name] { return model }
            if models.isEmpty { throw APIError(.serviceUnavailable, "no model is deployed yet") }
            throw APIError(.notFound, "no model named \"\(name)\" is served; the models are \(choices)")
        }
        if models.count == 1, let only = models.first?.value { return only }
        if models.isEmpty { throw APIError(.serviceUnavailable, "no model is deployed yet") }
        throw APIError(
            .conflict,
            "several models are served (\(choices)): name one in the path, /models/{name}/…")
    }

    /// Stops answering for models not in `names` (no longer live: their repository's model was
    /// renamed); requests that already took one finish on it. Returns the names dropped.
    @discardableResult
    public func retain(only names: Set<String>) -> [String] {
        let dropped = loaded.withLock { loaded in
            let gone = loaded.keys.filter { !names.contains($0) }
            for name in gone { loaded.removeValue(forKey: name) }
            return gone.sorted()
        }
        for name in dropped {
            previousPaths.withLock { _ = $0.removeValue(forKey: name) }
            liveInfo.withLock { $0.removeValue(forKey: name) }?.set(nil)
        }
        return dropped
    }

    /// The artifact paths whose local copies stay: each model's live and previous version (a
    /// rollback needs no download).
    public var keptArtifactPaths: Set<String> {
        Set(models.map(\.deployment.artifactPath)).union(previousPaths.withLock { $0.values })
    }

    /// Makes `model` the version new requests for its name use.
    public func swap(to model: LoadedModel) {
        let previous = loaded.withLock { $0.updateValue(model, forKey: model.name) }
        if let previous { previousPaths.withLock { $0[model.name] = previous.deployment.artifactPath } }
        let gauge = liveInfo.withLock { gauges in
            if let gauge = gauges[model.name] { return gauge }
            let gauge = InfoGauge(label: "conveyor_live_model_info")
            gauges[model.name] = gauge
            return gauge
        }
        gauge.set([("model", model.name), ("version", model.deployment.version)])
    }
}

extension ModelStore {
    /// The model the dashboard's pages show: the only one, or the first by name of several.
    var shown: LoadedModel? { models.first }
}
