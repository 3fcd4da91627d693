import Foundation
import Hummingbird
import Learning
import ServiceKit

/// The Open Inference Protocol (KServe / Triton "v2" REST): health, model
/// metadata and `POST /v2/models/{name}/infer`, so standard inference clients
/// can call Conveyor. Errors use the protocol's `{"error": "..."}` shape, plus
/// Conveyor's `problems` list naming each field.
enum InferenceProtocolRoutes {
    static func add(to router: Router<BasicRequestContext>, scorer: PredictionScorer) {
        let store = scorer.store
        router.get("/v2") { _, _ in
            try JSONResponse.make(
                ServerMetadata(name: "conveyor-serving", version: "2", extensions: []))
        }
        router.get("/v2/health/live") { _, _ in try JSONResponse.make(["live": true]) }
        router.get("/v2/health/ready") { _, _ in
            try JSONResponse.make(["ready": store.model != nil], status: store.model != nil ? .ok : .serviceUnavailable)
        }
        router.get("/v2/models/:name") { _, context in
            try await protocolErrors {
                let model = try served(context, store: store)
                return try JSONResponse.make(ModelMetadata(model))
            }
        }
        router.get("/v2/models/:name/ready") { _, context in
            try await protocolErrors {
                let model = try served(context, store: store)
                return try JSONResponse.make(ModelReady(name: model.artifact.name, ready: true))
            }
        }
        router.post("/v2/models/:name/infer") { request, context in
            try await protocolErrors {
                _ = try served(context, store: store)
                return try await InferenceRequestHandler(scorer: scorer).handle(request)
            }
        }
    }

    /// The loaded model when `{name}` names it; 404 otherwise.
    private static func served(_ context: BasicRequestContext, store: ModelStore) throws -> LoadedModel {
        guard let model = store.model else { throw APIError(.serviceUnavailable, "no model is deployed yet") }
        let name = context.parameters.get("name") ?? ""
        guard name == model.artifact.name else {
            throw APIError(
                .notFound, "model \"\(name)\" is not served here; this server serves \"\(model.artifact.name)\"")
        }
        return model
    }

    /// Renders `APIError`s as `{"error": message, "problems": [...]}`.
    private static func protocolErrors(_ body: () async throws -> Response) async throws -> Response {
        do {
            return try await body()
        } catch let error as APIError {
            return try JSONResponse.make(
                ProtocolError(error: error.message, problems: error.problems), status: error.status)
        }
    }

    private struct ProtocolError: Encodable {
        let error: String
        let problems: [FieldProblem]
    }

    private struct ServerMetadata: Encodable {
        let name: String
        let version: String
        let extensions: [String]
    }

    private struct ModelReady: Encodable {
        let name: String
        let ready: Bool
    }

    /// A tensor's description in model metadata.
    struct TensorMetadata: Encodable {
        let name: String
        let datatype: String
        let shape: [Int]
    }

    private struct ModelMetadata: Encodable {
        let name: String
        let versions: [String]
        let platform: String
        let inputs: [TensorMetadata]
        let outputs: [TensorMetadata]

        init(_ model: LoadedModel) {
            let artifact = model.artifact
            name = artifact.name
            versions = [model.deployment.version]
            platform = "conveyor_\(artifact.algorithm)"
            if artifact.forecast != nil {
                inputs = [TensorMetadata(name: "horizon", datatype: "INT64", shape: [1])]
                outputs = [
                    TensorMetadata(name: "date", datatype: "BYTES", shape: [-1]),
                    TensorMetadata(name: "value", datatype: "FP64", shape: [-1]),
                ]
                return
            }
            inputs = artifact.features.map { feature in
                let type =
                    switch feature.type {
                    case .numeric: "FP64"
                    case .boolean: "BOOL"
                    case .categorical, .date: "BYTES"
                    }
                return TensorMetadata(name: feature.name, datatype: type, shape: [-1])
            }
            if let classes = artifact.classes {
                outputs = [
                    TensorMetadata(name: "label", datatype: "BYTES", shape: [-1]),
                    TensorMetadata(name: "probabilities", datatype: "FP64", shape: [-1, classes.count]),
                ]
            } else {
                outputs = [TensorMetadata(name: "prediction", datatype: "FP64", shape: [-1])]
            }
        }
    }
}
