import DurationUnits
import Foundation
import GRPCCore
import HTTPTypes
import Hummingbird
import JSON
import Logging
import Metrics
import ServiceKit

/// The Open Inference Protocol's gRPC form (`inference.GRPCInferenceService`,
/// as KServe and Triton define it) over the same model, validation, scoring
/// and prediction log as `/v2` over HTTP: a hot swap, readiness and the
/// answering version behave alike, and every prediction is logged the same
/// way. Models come only from deployments, so the repository calls are
/// `UNIMPLEMENTED`. Errors carry the status that matches the HTTP answer
/// (422 and 400 → `INVALID_ARGUMENT`, 404 → `NOT_FOUND`, 503 → `UNAVAILABLE`)
/// and the message HTTP's `error` carries.
struct InferenceGRPCService: Inference_GRPCInferenceService.ServiceProtocol {
    let scorer: PredictionScorer
    /// Who may ask (`PREDICT_AUTH=token`: the `authorization` metadata's bearer token).
    let access: PredictionAccess
    /// `MAX_BODY_BYTES`: a larger `ModelInfer` message is `RESOURCE_EXHAUSTED`, named.
    let maxMessageBytes: Int
    let logger: Logger

    func serverLive(
        request: ServerRequest<Inference_ServerLiveRequest>, context: ServerContext
    ) async throws -> ServerResponse<Inference_ServerLiveResponse> {
        await answer("ServerLive") { (.with { $0.live = true }, [:]) }
    }

    func serverReady(
        request: ServerRequest<Inference_ServerReadyRequest>, context: ServerContext
    ) async throws -> ServerResponse<Inference_ServerReadyResponse> {
        let ready = !scorer.store.isEmpty
        return await answer("ServerReady") { (.with { $0.ready = ready }, [:]) }
    }

    func modelReady(
        request: ServerRequest<Inference_ModelReadyRequest>, context: ServerContext
    ) async throws -> ServerResponse<Inference_ModelReadyResponse> {
        await answer("ModelReady") {
            _ = try await served(request.message.name, version: request.message.version)
            return (.with { $0.ready = true }, [:])
        }
    }

    func serverMetadata(
        request: ServerRequest<Inference_ServerMetadataRequest>, context: ServerContext
    ) async throws -> ServerResponse<Inference_ServerMetadataResponse> {
        await answer("ServerMetadata") {
            (
                .with {
                    $0.name = "conveyor-serving"
                    $0.version = "2"
                }, [:]
            )
        }
    }

    func modelMetadata(
        request: ServerRequest<Inference_ModelMetadataRequest>, context: ServerContext
    ) async throws -> ServerResponse<Inference_ModelMetadataResponse> {
        await answer("ModelMetadata") {
            let metadata = InferenceMessages.ModelMetadata(
                try await served(request.message.name, version: request.message.version))
            let tensor = { (tensor: InferenceMessages.TensorMetadata) in
                Inference_ModelMetadataResponse.TensorMetadata.with {
                    $0.name = tensor.name
                    $0.datatype = tensor.datatype
                    $0.shape = tensor.shape.map { Int64($0) }
                }
            }
            let response = Inference_ModelMetadataResponse.with {
                $0.name = metadata.name
                $0.versions = metadata.versions
                $0.platform = metadata.platform
                $0.inputs = metadata.inputs.map(tensor)
                $0.outputs = metadata.outputs.map(tensor)
            }
            return (response, [:])
        }
    }

    func modelInfer(
        request: ServerRequest<Inference_ModelInferRequest>, context: ServerContext
    ) async throws -> ServerResponse<Inference_ModelInferResponse> {
        await answer("ModelInfer", isPrediction: true) {
            let message = request.message
            // The transport stops only messages over twice the limit (by resetting the stream, which
            // clients show as CANCELLED): below that the client is told what the limit is.
            let size = try (message.serializedBytes() as [UInt8]).count
            guard size <= maxMessageBytes else {
                throw APIError(
                    .contentTooLarge, "the message is \(size) bytes; the limit is \(maxMessageBytes) (MAX_BODY_BYTES)")
            }
            let model = try await served(message.modelName, version: message.modelVersion)
            var authorization: String?
            for value in request.metadata[stringValues: "authorization"] {
                authorization = value
                break
            }
            let caller: String?
            do {
                caller = try access.check(authorization: authorization, model: model.artifact.name, scope: .predict)
            } catch let refusal as AccessRefusal {
                throw PredictionAuthentication.apiError(refusal)
            }
            let object = try GRPCInferTensors.request(message)
            // A forecast logs its whole request: the equivalent JSON (the log holds text).
            let inference = try await PredictionCaller.$tokenName.withValue(caller) {
                try await ProtocolInference.answer(
                    object, requestID: RequestID().description, model: model, scorer: scorer
                ) {
                    String(decoding: try JSONEncoder().encode(JSONValue.object(object)), as: UTF8.self)
                }
            }
            let answer = inference.prediction
            let response = GRPCInferTensors.response(
                inference.outputs, raw: !message.rawInputContents.isEmpty, model: answer.call.model.artifact.name,
                version: answer.version, id: message.id.isEmpty ? answer.requestID : message.id)
            return (response, ["x-request-id": "\(answer.requestID)", "x-model-version": "\(answer.version)"])
        }
    }

    func repositoryModelLoad(
        request: ServerRequest<Inference_RepositoryModelLoadRequest>, context: ServerContext
    ) async throws -> ServerResponse<Inference_RepositoryModelLoadResponse> {
        ServerResponse(error: Self.noRepository)
    }

    func repositoryModelUnload(
        request: ServerRequest<Inference_RepositoryModelUnloadRequest>, context: ServerContext
    ) async throws -> ServerResponse<Inference_RepositoryModelUnloadResponse> {
        ServerResponse(error: Self.noRepository)
    }

    private static let noRepository = RPCError(
        code: .unimplemented,
        message: "models are loaded from deployments (merge a pull request, or POST /deployments), not by the client")

    /// The loaded model when `name` (and `version`, when given) name it.
    private func served(_ name: String, version: String) async throws -> LoadedModel {
        let model = try await ProtocolInference.served(name, store: scorer.store)
        guard version.isEmpty || version == model.deployment.version else {
            throw APIError(
                .notFound,
                "version \"\(version)\" of \"\(name)\" is not served here; this server serves \"\(model.deployment.version)\""
            )
        }
        return model
    }

    /// Runs one call: the answer with its metadata, or the error as a gRPC status; counted by
    /// `conveyor_grpc_requests_total{method,code}` and timed by `conveyor_grpc_request_duration_seconds{method}`.
    private func answer<Message: Sendable>(
        _ method: String, isPrediction: Bool = false, _ body: () async throws -> (Message, Metadata)
    ) async -> ServerResponse<Message> {
        let start = ContinuousClock.now
        let response: ServerResponse<Message>
        do {
            let (message, metadata) = try await body()
            if isPrediction { PredictionRejections.answered.add(1, ordering: .relaxed) }
            response = ServerResponse(message: message, metadata: metadata)
        } catch let error as APIError {
            // A refused caller (401, 403, 429) is not a rejected prediction.
            if isPrediction, ![401, 403, 429].contains(error.status.code) { PredictionRejections.record(error.status) }
            if error.status.code >= 500, error.status != .serviceUnavailable {
                logger.error("gRPC \(method) failed", metadata: ["error": "\(error.message)"])
            }
            response = ServerResponse(
                error: RPCError(code: Self.code(error.status), message: ProtocolInference.message(error)))
        } catch {
            logger.error("gRPC \(method) failed", metadata: ["error": "\(error)"])
            if isPrediction { PredictionRejections.record(.internalServerError) }
            response = ServerResponse(
                error: RPCError(code: .internalError, message: "internal error; it has been logged"))
        }
        Counter(
            label: "conveyor_grpc_requests_total",
            dimensions: [("method", method), ("code", Self.name(response.accepted))]
        ).increment()
        Timer(label: "conveyor_grpc_request_duration_seconds", dimensions: [("method", method)])
            .recordInterval(since: start)
        return response
    }

    /// The gRPC status of an HTTP status, as the two forms of the protocol pair them.
    static func code(_ status: HTTPResponse.Status) -> RPCError.Code {
        switch status.code {
        case 400, 422: .invalidArgument
        case 404: .notFound
        case 401: .unauthenticated
        case 403: .permissionDenied
        case 413, 429: .resourceExhausted
        case 503: .unavailable
        case 504: .deadlineExceeded
        default: .internalError
        }
    }

    /// A status as a label value, in go-grpc-prometheus's spelling (`OK`, `InvalidArgument`, `NotFound`…).
    private static func name<Message>(_ result: Result<ServerResponse<Message>.Contents, RPCError>) -> String {
        guard case .failure(let error) = result else { return "OK" }
        let name = "\(error.code)"
        return name == "internalError" ? "Internal" : name.prefix(1).uppercased() + name.dropFirst()
    }
}

extension Timer {
    /// Records the time from `start` to now.
    fileprivate func recordInterval(since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        recordNanoseconds(elapsed.inNanoseconds)
    }
}
