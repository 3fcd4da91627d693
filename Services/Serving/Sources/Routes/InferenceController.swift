import Foundation
import HTTPTypes
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
    /// Who may ask (`PREDICT_AUTH=token`).
    let access: PredictionAccess

    var endpoints: DocumentedRoutes {
        let routes = DocumentedRoutes()
        let store = scorer.store
        routes.on(APIRoute(.get, "/v2", "Open Inference Protocol: server metadata.", errors: .inferenceProtocol)) {
            _, _ in
            try JSONResponse.make(
                InferenceMessages.ServerMetadata(
                    name: "conveyor-serving", version: "2", extensions: ["binary_tensor_data"]))
        }
        routes.on(APIRoute(.get, "/v2/health/live", "Open Inference Protocol: liveness.", errors: .inferenceProtocol)) {
            _, _ in try JSONResponse.make(["live": true])
        }
        routes.on(
            APIRoute(
                .get, "/v2/health/ready", "Open Inference Protocol: readiness (a model is loaded).",
                errors: .inferenceProtocol)
        ) { _, _ in
            try JSONResponse.make(["ready": !store.isEmpty], status: store.isEmpty ? .serviceUnavailable : .ok)
        }
        // The routes of a named model answer errors in the protocol's shape.
        routes.add(middleware: InferenceProtocolErrors())
        routes.on(
            APIRoute(.get, "/v2/models/:name", "Open Inference Protocol: model metadata.", errors: .inferenceProtocol)
        ) { _, context in
            try JSONResponse.make(InferenceMessages.ModelMetadata(try await Self.served(context, store: store)))
        }
        routes.on(
            APIRoute(
                .get, "/v2/models/:name/ready", "Open Inference Protocol: model readiness.", errors: .inferenceProtocol)
        ) { _, context in
            let model = try await Self.served(context, store: store)
            return try JSONResponse.make(InferenceMessages.ModelReady(name: model.artifact.name, ready: true))
        }
        // The access check first: a refused caller is not a rejected prediction.
        routes.add(
            middleware: PredictionAuthentication(access: access, scope: .predict, store: store)
        )
        routes.add(middleware: PredictionRejectionCounting())
        routes.on(
            APIRoute(
                .post, "/v2/models/:name/infer",
                "Open Inference Protocol: infer with one tensor per feature, or one [N, F] tensor.",
                requestBody: {
                    // One model: its features; several: any tensors (each model's are in its metadata).
                    ["application/json": PredictSchemas.inferSchema(features: store.model?.artifact.features ?? [])]
                },
                errors: .inferenceProtocol)
        ) { request, context in
            try await infer(request, context: context, model: try await Self.served(context, store: store))
        }
        return routes
    }

    func infer(_ request: Request, context: AppRequestContext, model: LoadedModel) async throws -> Response {
        let body = try await scorer.body(of: request)
        // The binary tensor data extension: a JSON header, then raw input bytes (only then is the body copied).
        let headerLength = request.headers[Self.binaryHeader]
        var binary: ArraySlice<UInt8> = []
        let parsed: JSONValue?
        if let headerLength {
            let (json, rest) = try BinaryTensorData.split(Array(body.readableBytesView), headerLength: headerLength)
            (parsed, binary) = (try? JSONValue.parse(json), rest)
        } else {
            parsed = try? JSONValue.parse(body.readableBytesView)
        }
        guard case .object(var object) = parsed ?? .null else {
            throw APIError(.badRequest, "the body must be a JSON object with \"inputs\"")
        }
        if headerLength != nil, case .array(let rawInputs) = object["inputs"] ?? .null {
            object["inputs"] = .array(try BinaryTensorData.attach(rawInputs, binary: binary))
        }
        // A forecast's request is logged whole; a binary one as the equivalent JSON (the log holds text).
        let inference = try await ProtocolInference.answer(
            object, requestID: context.requestID, model: model, scorer: scorer
        ) {
            headerLength == nil
                ? String(buffer: body)
                : String(decoding: try JSONEncoder().encode(JSONValue.object(object)), as: UTF8.self)
        }
        let answer = inference.prediction
        let name = answer.call.model.artifact.name
        let id = object["id"]?.stringValue ?? answer.requestID
        guard !inference.binary.isEmpty else {
            return try JSONResponse.make(
                InferenceMessages.Reply(
                    modelName: name, modelVersion: answer.version, id: id, outputs: inference.outputs),
                headers: [.xRequestID: answer.requestID])
        }
        return try Self.binaryReply(
            inference.outputs, binary: inference.binary, model: name, version: answer.version, id: id,
            requestID: answer.requestID)
    }

    static let binaryHeader = HTTPField.Name(BinaryTensorData.headerName)!

    /// A JSON header (`Inference-Header-Content-Length` bytes) followed by the binary outputs in order.
    static func binaryReply(
        _ outputs: [InferenceTensors.Output], binary: Set<String>, model: String, version: String, id: String,
        requestID: String
    ) throws -> Response {
        var tail: [UInt8] = []
        let headers = outputs.map { output -> InferenceMessages.OutputHeader in
            guard binary.contains(output.name) else {
                return .init(
                    name: output.name, datatype: output.datatype, shape: output.shape, data: output.data,
                    parameters: nil)
            }
            let bytes = BinaryTensorData.encode(output)
            tail += bytes
            return .init(
                name: output.name, datatype: output.datatype, shape: output.shape, data: nil,
                parameters: .init(binaryDataSize: bytes.count))
        }
        let header = try JSONEncoder().encode(
            InferenceMessages.BinaryReply(modelName: model, modelVersion: version, id: id, outputs: headers))
        return Response(
            status: .ok,
            headers: [
                .contentType: "application/octet-stream", binaryHeader: String(header.count),
                .xRequestID: requestID,
            ],
            body: .init(byteBuffer: ByteBuffer(bytes: Array(header) + tail)))
    }

    /// The loaded model when `{name}` names it; 404 otherwise.
    private static func served(_ context: AppRequestContext, store: ModelStore) async throws -> LoadedModel {
        try await ProtocolInference.served(context.parameters.get("name") ?? "", store: store)
    }
}
