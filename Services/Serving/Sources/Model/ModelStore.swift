import Foundation
import Learning
import Metrics
import Registry
import ServiceKit
import Synchronization

/// The models serving now, one live version per model name. A swap replaces
/// one model's reference atomically: requests that already took the old
/// version finish on it, and the other models are untouched. With
/// `MAX_LOADED_MODELS`, a live model that is not loaded is loaded when a
/// request first asks for it, and the least recently used one is unloaded to
/// make room.
public final class ModelStore: Sendable {
    private struct State {
        var loaded: [String: LoadedModel] = [:]
        /// The live models' names as the watcher last read them (nil before its first read).
        var live: Set<String>?
        /// When each loaded model was last asked for (a counter, not a clock).
        var lastUse: [String: UInt64] = [:]
        var tick: UInt64 = 0
        /// The artifact path of the version each model answered with before its last swap.
        var previousPaths: [String: String] = [:]
    }

    private let state = Mutex(State())
    /// Loads a live model that is not loaded (set when `MAX_LOADED_MODELS` is); nil: a model is
    /// loaded only by the deployment watcher.
    private let loader = Mutex<(@Sendable (String) async throws -> LoadedModel?)?>(nil)
    /// `conveyor_live_model_info{model,version} 1`, one series per model: which version this
    /// replica answers each model with.
    private let liveInfo = Mutex<[String: InfoGauge]>([:])

    public init() {}

    /// Every loaded model, by name.
    public var models: [LoadedModel] { state.withLock { $0.loaded.values.sorted { $0.name < $1.name } } }

    /// The names of the loaded models, sorted.
    public var names: [String] { state.withLock { $0.loaded.keys.sorted() } }

    /// How many models are loaded.
    public var loadedCount: Int { state.withLock { $0.loaded.count } }

    /// Whether no model is loaded.
    public var isEmpty: Bool { state.withLock { $0.loaded.isEmpty } }

    /// The loaded model named `name`, if any.
    public func model(named name: String) -> LoadedModel? { state.withLock { $0.loaded[name] } }

    /// The only model, when exactly one is loaded (what the unprefixed routes answer with).
    public var model: LoadedModel? {
        state.withLock { $0.loaded.count == 1 ? $0.loaded.first?.value : nil }
    }

    /// The only live model's name (what the unprefixed routes answer with), loaded or not.
    public var onlyLiveName: String? {
        state.withLock { state in
            let live = state.live ?? Set(state.loaded.keys)
            return live.count == 1 ? live.first : nil
        }
    }

    /// How many models are live (as the watcher last read; before that, how many are loaded).
    public var liveCount: Int { state.withLock { ($0.live ?? Set($0.loaded.keys)).count } }

    /// Lets requests load live models that are not loaded (`MAX_LOADED_MODELS`).
    func setLoader(_ load: @escaping @Sendable (String) async throws -> LoadedModel?) {
        loader.withLock { $0 = load }
    }

    /// What a lookup found.
    private enum Lookup {
        case found(LoadedModel)
        case notLoaded(String)
        case refused(APIError)
    }

    /// The model a request is for: `name` (from a `/models/{name}/…` route), or the only live
    /// one, loaded first when it is live but not loaded and requests may load models. 503 while
    /// none is deployed (or the one asked for is not loaded yet); 404 naming the live models for
    /// an unknown name; 409 naming them when the route names none and several are live.
    public func resolve(_ name: String?) async throws -> LoadedModel {
        switch lookup(name) {
        case .found(let model): return model
        case .refused(let error): throw error
        case .notLoaded(let name):
            if let load = loader.withLock({ $0 }), let model = try await load(name) { return model }
            throw APIError(
                .serviceUnavailable, "the model \"\(name)\" is not loaded yet (loading, or its last load failed)")
        }
    }

    private func lookup(_ name: String?) -> Lookup {
        state.withLock { state in
            let live = state.live ?? Set(state.loaded.keys)
            // Only an error names the models: not built for the requests that find theirs.
            var choices: String { live.sorted().map { "\"\($0)\"" }.joined(separator: ", ") }
            guard let wanted = name ?? (live.count == 1 ? live.first : nil) else {
                if live.isEmpty { return .refused(APIError(.serviceUnavailable, "no model is deployed yet")) }
                return .refused(
                    APIError(
                        .conflict, "several models are served (\(choices)): name one in the path, /models/{name}/…"))
            }
            if let model = state.loaded[wanted] {
                state.tick &+= 1
                state.lastUse[wanted] = state.tick
                return .found(model)
            }
            if live.contains(wanted) { return .notLoaded(wanted) }
            if live.isEmpty { return .refused(APIError(.serviceUnavailable, "no model is deployed yet")) }
            return .refused(
                APIError(.notFound, "no model named \"\(wanted)\" is served; the models are \(choices)"))
        }
    }

    /// Records the live models' names; stops answering for loaded ones no longer among them
    /// (their repository's model was renamed). Requests that already took one finish on it.
    /// Returns the names dropped.
    @discardableResult
    public func setLive(_ names: Set<String>) -> [String] {
        let dropped = state.withLock { state in
            state.live = names
            return state.loaded.keys.filter { !names.contains($0) }.sorted()
        }
        for name in dropped { unload(name) }
        return dropped
    }

    /// Unloads `name` (requests that took it finish on it).
    func unload(_ name: String) {
        state.withLock { state in
            state.loaded.removeValue(forKey: name)
            state.lastUse.removeValue(forKey: name)
            state.previousPaths.removeValue(forKey: name)
        }
        liveInfo.withLock { $0.removeValue(forKey: name) }?.set(nil)
    }

    /// The loaded model asked for longest ago, other than `keeping`.
    func leastRecentlyUsed(keeping: String) -> String? {
        state.withLock { state in
            state.loaded.keys.filter { $0 != keeping }.min { (state.lastUse[$0] ?? 0) < (state.lastUse[$1] ?? 0) }
        }
    }

    /// The artifact paths whose local copies stay: each model's live and previous version (a
    /// rollback needs no download).
    public var keptArtifactPaths: Set<String> {
        state.withLock { state in
            Set(state.loaded.values.map(\.deployment.artifactPath)).union(state.previousPaths.values)
        }
    }

    /// Makes `model` the version new requests for its name use.
    public func swap(to model: LoadedModel) {
        state.withLock { state in
            if let previous = state.loaded.updateValue(model, forKey: model.name) {
                state.previousPaths[model.name] = previous.deployment.artifactPath
            }
            state.tick &+= 1
            state.lastUse[model.name] = state.lastUse[model.name] ?? state.tick
        }
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
