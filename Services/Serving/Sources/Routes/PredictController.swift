import Foundation
import Hummingbird
import JSON
import Learning
import ServiceKit

/// `POST /predict`: one JSON object of features, `{"instances": [...]}`, a
/// forecast's `{"horizon": N}`, or a `text/csv` table (answered in CSV).
/// Inputs are validated against the deployed model's feature schema; every
/// problem is reported with its field, and bad input never causes a 5xx.
struct PredictController: APIController {
    let scorer: PredictionScorer

    private struct Single: Encodable {
        let prediction: PredictedValue
        let modelVersion: String
        let requestID: String

        enum CodingKeys: String, CodingKey {
            case prediction
            case modelVersion = "model_version"
            case requestID = "request_id"
        }
    }

    private struct Batch: Encodable {
        let predictions: [PredictedValue]
        let modelVersion: String
        let requestID: String

        enum CodingKeys: String, CodingKey {
            case predictions
            case modelVersion = "model_version"
            case requestID = "request_id"
        }
    }

    private struct DatedValue: Encodable {
        let date: String
        let value: Double
    }

    private struct Forecast: Encodable {
        let forecast: [DatedValue]
        let modelVersion: String
        let requestID: String

        enum CodingKeys: String, CodingKey {
            case forecast
            case modelVersion = "model_version"
            case requestID = "request_id"
        }
    }

    var endpoints: DocumentedRoutes {
        let store = scorer.store
        let maxInstances = scorer.maxInstances
        return DocumentedRoutes().on(
            APIRoute(
                .post, "/predict",
                "Predict one object of features, {\"instances\": [...]}, a forecast's {\"horizon\": N}, or a text/csv table (answered in CSV).",
                requestBody: { PredictSchemas.predictContent(store.model?.artifact, maxInstances: maxInstances) })
        ) { request, context in
            try await PredictionRejections.counting { try await predict(request, context: context) }
        }
    }

    func predict(_ request: Request, context: AppRequestContext) async throws -> Response {
        let call = try scorer.begin(context)
        let body = try await scorer.body(of: request)
        if let type = request.headers[.contentType], type.lowercased().hasPrefix("text/csv") {
            return try CSVPredictions(scorer: scorer).answer(call, body: body)
        }
        let json: JSONValue
        do {
            json = try JSONValue.parse(body.readableBytesView)
        } catch {
            throw APIError(.badRequest, "the body is not valid JSON: \(error)")
        }
        guard case .object(let object) = json else {
            throw APIError(.badRequest, "the body must be a JSON object of features or {\"instances\": [...]}")
        }
        let response: Response
        let outputs: [PredictedValue]
        var logged = String(buffer: body)
        if let forecast = call.model.artifact.forecast {
            let horizon = try Self.horizon(object, forecast: forecast)
            let values = forecast.forecast(horizon: horizon) { call.model.artifact.predict(encoded: $0) }
            outputs = values.map { PredictedValue(output: .value($0.value), classes: []) }
            response = try JSONResponse.make(
                Forecast(
                    forecast: values.map { DatedValue(date: $0.date, value: $0.value) }, modelVersion: call.version,
                    requestID: call.requestID))
        } else if let instancesValue = object["instances"] {
            guard case .array(let instances) = instancesValue else {
                throw APIError.validation([FieldProblem(field: "instances", problem: "must be an array of objects")])
            }
            try scorer.checkCount(instances.count, field: "instances")
            let notObjects = instances.indices.filter { instances[$0].objectValue == nil }
            guard notObjects.isEmpty else {
                throw APIError.validation(
                    notObjects.map { FieldProblem(field: "instances[\($0)]", problem: "must be an object") })
            }
            let field: (Int) -> String = { "instances[\($0)]." }
            let scored = try scorer.predict(call, count: instances.count, field: field) { index, name in
                scorer.featureValue(instances[index][name], feature: name, model: call.model)
            }
            (outputs, logged) = (scored.outputs, scored.loggedInputs)
            response = try JSONResponse.make(
                Batch(predictions: outputs, modelVersion: call.version, requestID: call.requestID))
        } else {
            let field: (Int) -> String = { _ in "" }
            let scored = try scorer.predict(call, count: 1, field: field) { _, name in
                scorer.featureValue(object[name], feature: name, model: call.model)
            }
            (outputs, logged) = (scored.outputs, scored.loggedInputs)
            if case .value(let value) = outputs[0].output {
                // The common case, written directly: JSONEncoder was a large share of a one-row request.
                let body =
                    "{\"model_version\":\(JSONText.quoted(call.version)),\"prediction\":\(JSONText.number(value)),\"request_id\":\(JSONText.quoted(call.requestID))}"
                response = JSONResponse.raw(Data(body.utf8))
            } else {
                response = try JSONResponse.make(
                    Single(prediction: outputs[0], modelVersion: call.version, requestID: call.requestID))
            }
        }
        scorer.finish(call, inputs: logged, outputs: outputs)
        return response
    }

    /// The horizon of a forecast request: a whole number from 1 to the model's maximum.
    static func horizon(_ object: [String: JSONValue], forecast: ForecastModel) throws -> Int {
        guard object.keys.allSatisfy({ $0 == "horizon" }), case .number(let horizon) = object["horizon"] ?? .null,
            horizon == horizon.rounded(), horizon >= 1, horizon <= Double(forecast.maxHorizon)
        else {
            throw APIError.validation([
                FieldProblem(
                    field: "horizon",
                    problem:
                        "a forecast model takes {\"horizon\": N}, N a whole number from 1 to \(forecast.maxHorizon)"
                )
            ])
        }
        return Int(horizon)
    }
}
