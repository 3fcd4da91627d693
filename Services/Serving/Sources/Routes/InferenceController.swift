import Foundation
import Hummingbird
import JSON
import Learning
import ServiceKit

/// The Open Inference Protocol (KServe / Triton "v2" REST): health, model
/// metadata and `POST /v2/models/{name}/infer`, so standard inference clients
/// can call Conveyor. Errors use the protocol's `{"error": "..."}` shape, plus
/// Conveyor's `problems` list naming each field.
struct InferenceController: APIController {
    let scorer: PredictionScorer

    var endpoints: DocumentedRoutes {
        let routes = DocumentedRoutes()
        let store = scorer.store
        routes.on(APIRoute(.get, "/v2", "Open Inference Protocol: server metadata.", errors: .inferenceProtocol)) {
            _, _ in
            try JSONResponse.make(
                InferenceMessages.ServerMetadata(name: "conveyor-serving", version: "2", extensions: []))
        }
        routes.on(APIRoute(.get, "/v2/health/live", "Open Inference Protocol: liveness.", errors: .inferenceProtocol)) {
            _, _ in try JSONResponse.make(["live": true])
        }
        routes.on(
            APIRoute(
                .get, "/v2/health/ready", "Open Inference Protocol: readiness (a model is loaded).",
                errors: .inferenceProtocol)
        ) { _, _ in
            try JSONResponse.make(["ready": store.model != nil], status: store.model != nil ? .ok : .serviceUnavailable)
        }
        routes.on(
            APIRoute(.get, "/v2/models/:name", "Open Inference Protocol: model metadata.", errors: .inferenceProtocol)
        ) { _, context in
            try await Self.protocolErrors {
                try JSONResponse.make(InferenceMessages.ModelMetadata(try Self.served(context, store: store)))
            }
        }
        routes.on(
            APIRoute(
                .get, "/v2/models/:name/ready", "Open Inference Protocol: model readiness.", errors: .inferenceProtocol)
        ) { _, context in
            try await Self.protocolErrors {
                let model = try Self.served(context, store: store)
                return try JSONResponse.make(InferenceMessages.ModelReady(name: model.artifact.name, ready: true))
            }
        }
        routes.on(
            APIRoute(
                .post, "/v2/models/:name/infer",
                "Open Inference Protocol: infer with one tensor per feature, or one [N, F] tensor.",
                requestBody: {
                    ["application/json": PredictSchemas.inferSchema(features: store.model?.artifact.features ?? [])]
                },
                errors: .inferenceProtocol)
        ) { request, context in
            try await Self.protocolErrors {
                try await PredictionRejections.counting {
                    _ = try Self.served(context, store: store)
                    return try await infer(request, context: context)
                }
            }
        }
        return routes
    }

    func infer(_ request: Request, context: AppRequestContext) async throws -> Response {
        let call = try scorer.begin(context)
        let body = try await scorer.body(of: request)
        guard case .object(let object) = (try? JSONValue.parse(body.readableBytesView)) ?? .null else {
            throw APIError(.badRequest, "the body must be a JSON object with \"inputs\"")
        }
        guard case .array(let rawInputs) = object["inputs"] ?? .null, !rawInputs.isEmpty else {
            throw APIError.validation([FieldProblem(field: "inputs", problem: "must be a non-empty array of tensors")])
        }
        let tensors = try rawInputs.enumerated().map { try InferenceTensors.tensor($1, index: $0) }
        let outputs: [InferenceTensors.Output]
        let predictions: [PredictedValue]
        var logged = String(buffer: body)
        if let forecast = call.model.artifact.forecast {
            guard tensors.count == 1, tensors[0].name == "horizon", let horizon = tensors[0].data.first else {
                throw APIError.validation([
                    FieldProblem(field: "inputs", problem: "a forecast model takes one tensor \"horizon\" of shape [1]")
                ])
            }
            let steps = try PredictController.horizon(["horizon": horizon], forecast: forecast)
            let values = forecast.forecast(horizon: steps) { call.model.artifact.predict(encoded: $0) }
            predictions = values.map { PredictedValue(output: .value($0.value), classes: []) }
            outputs = [
                .init(name: "date", datatype: "BYTES", shape: [steps], data: values.map { .string($0.date) }),
                .init(name: "value", datatype: "FP64", shape: [steps], data: values.map { .number($0.value) }),
            ]
        } else {
            let (count, lookup) = try InferenceTensors.instances(tensors, features: call.model.artifact.features)
            try scorer.checkCount(count, field: "inputs[*].shape[0]")
            let field: (Int) -> String = { "instance \($0): " }
            let scored = try scorer.predict(call, count: count, field: field) { row, name in
                lookup(row, name).flatMap { scorer.featureValue($0, feature: name, model: call.model) }
            }
            (predictions, logged) = (scored.outputs, scored.loggedInputs)
            outputs = InferenceTensors.outputs(predictions, classes: call.classes)
        }
        let id = object["id"]?.stringValue ?? call.requestID
        let response = try JSONResponse.make(
            InferenceMessages.Reply(
                modelName: call.model.artifact.name, modelVersion: call.version, id: id, outputs: outputs),
            headers: [.xRequestID: call.requestID])
        // Logged only once the answer is encoded: what is logged is what was served.
        scorer.finish(call, inputs: logged, outputs: predictions)
        return response
    }

    /// The loaded model when `{name}` names it; 404 otherwise.
    private static func served(_ context: AppRequestContext, store: ModelStore) throws -> LoadedModel {
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
                InferenceMessages.ProtocolError(error: error.message, problems: error.problems), status: error.status)
        }
    }
}
