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
    /// Who may ask (`PREDICT_AUTH=token`).
    let access: PredictionAccess

    private struct Single: Encodable {
        let prediction: PredictedValue
        let modelVersion: String
        let requestID: String
        var explanation: ServedExplanation?

        enum CodingKeys: String, CodingKey {
            case prediction
            case modelVersion = "model_version"
            case requestID = "request_id"
            case baseValue = "base_value"
            case contributions
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(prediction, forKey: .prediction)
            try container.encode(modelVersion, forKey: .modelVersion)
            try container.encode(requestID, forKey: .requestID)
            try explanation?.encode(into: &container, base: .baseValue, contributions: .contributions)
        }
    }

    private struct Batch: Encodable {
        let predictions: [PredictedValue]
        let modelVersion: String
        let requestID: String
        var explanations: [ServedExplanation]?

        enum CodingKeys: String, CodingKey {
            case predictions
            case modelVersion = "model_version"
            case requestID = "request_id"
            case explanations
        }
    }

    private struct DatedValue: Encodable {
        let date: String
        let value: Double
        var explanation: ServedExplanation?

        enum CodingKeys: String, CodingKey {
            case date, value
            case baseValue = "base_value"
            case contributions
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(date, forKey: .date)
            try container.encode(value, forKey: .value)
            try explanation?.encode(into: &container, base: .baseValue, contributions: .contributions)
        }
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
        // The access check first: a refused caller is not a rejected prediction.
        let routes = DocumentedRoutes().add(
            middleware: PredictionAuthentication(access: access, scope: .predict, store: store)
        ).add(middleware: PredictionRejectionCounting())
        for path in ["/predict", "/models/:name/predict"] {
            let named = path != "/predict"
            routes.on(
                APIRoute(
                    .post, path,
                    (named ? "Predict with the model named in the path: " : "Predict (the only model served): ")
                        + "one object of features, {\"instances\": [...]}, a forecast's {\"horizon\": N}, or a text/csv table (answered in CSV).",
                    requestBody: {
                        PredictSchemas.predictContent(named ? nil : store.model?.artifact, maxInstances: maxInstances)
                    }, parameters: named ? ["name": ModelsController.nameSchema] : [:])
            ) { request, context in
                try await predict(request, context: context)
            }
        }
        return routes
    }

    func predict(_ request: Request, context: AppRequestContext) async throws -> Response {
        // Before the body is read: without the model, the answer is 503/404/409 whatever was sent.
        let model = try await scorer.model(context)
        let body = try await scorer.body(of: request)
        let explainQuery = try Self.explainFlag(request.uri.queryParameters["explain"].map { .string(String($0)) })
        if let type = request.headers[.contentType], type.lowercased().hasPrefix("text/csv") {
            return try await CSVPredictions(scorer: scorer).answer(
                body: body, requestID: context.requestID, model: model, explain: explainQuery)
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
        let batch = object["instances"]
        // `explain` in the body, unless it names a feature (then it is that feature's value).
        let explainBody =
            model.artifact.features.contains { $0.name == Self.explainField }
            ? false : try Self.explainFlag(object[Self.explainField])
        let explain = explainQuery || explainBody
        let answer = try await scorer.answer(requestID: context.requestID, model: model, explain: explain) { model in
            if let forecast = model.artifact.forecast {
                return .horizon(try Self.horizon(object, forecast: forecast), logged: String(buffer: body))
            }
            guard let batch else {
                return .rows(count: 1, countField: "instances", field: { _ in "" }) { _, name in
                    scorer.featureValue(object[name], feature: name, model: model)
                }
            }
            guard case .array(let instances) = batch else {
                throw APIError.validation([FieldProblem(field: "instances", problem: "must be an array of objects")])
            }
            let notObjects = instances.indices.filter { instances[$0].objectValue == nil }
            guard notObjects.isEmpty || instances.count > scorer.maxInstances else {
                throw APIError.validation(
                    notObjects.map { FieldProblem(field: "instances[\($0)]", problem: "must be an object") })
            }
            return .rows(count: instances.count, countField: "instances", field: { "instances[\($0)]." }) {
                index, name in scorer.featureValue(instances[index][name], feature: name, model: model)
            }
        }
        let explanations = Self.served(answer)
        if !answer.dates.isEmpty {
            return try JSONResponse.make(
                Forecast(
                    forecast: answer.dates.indices.map { step in
                        DatedValue(
                            date: answer.dates[step], value: answer.outputs[step].number,
                            explanation: explanations?[step])
                    },
                    modelVersion: answer.version, requestID: answer.requestID))
        }
        if batch != nil {
            return try JSONResponse.make(
                Batch(
                    predictions: answer.outputs, modelVersion: answer.version, requestID: answer.requestID,
                    explanations: explanations))
        }
        if explanations == nil, case .value(let value) = answer.outputs[0].output {
            // The common case, written directly: JSONEncoder was a large share of a one-row request.
            let body =
                "{\"model_version\":\(JSONText.quoted(answer.version)),\"prediction\":\(JSONText.number(value)),\"request_id\":\(JSONText.quoted(answer.requestID))}"
            return JSONResponse.raw(Data(body.utf8))
        }
        if let explained = explanations?.first, explained.classes == nil,
            case .value(let value) = answer.outputs[0].output
        {
            // Explained the same way: JSONEncoder's dictionaries cost more than the Shapley values.
            var body = "{\"base_value\":\(JSONText.number(explained.explanation.baseValues[0])),\"contributions\":{"
            for (index, (name, part)) in zip(explained.inputs, explained.explanation.contributions[0]).enumerated() {
                if index > 0 { body += "," }
                body += "\(JSONText.quoted(name)):\(JSONText.number(part))"
            }
            body +=
                "},\"model_version\":\(JSONText.quoted(answer.version)),\"prediction\":\(JSONText.number(value)),\"request_id\":\(JSONText.quoted(answer.requestID))}"
            return JSONResponse.raw(Data(body.utf8))
        }
        return try JSONResponse.make(
            Single(
                prediction: answer.outputs[0], modelVersion: answer.version, requestID: answer.requestID,
                explanation: explanations?.first))
    }

    /// The body field (and query parameter) asking for explanations.
    static let explainField = "explain"

    /// `explain`'s value: absent is false; a boolean, or the text true/false/1/0 (the query
    /// parameter); anything else, null included, is a 422.
    static func explainFlag(_ value: JSONValue?) throws -> Bool {
        switch value {
        case nil: return false
        case .bool(let flag): return flag
        case .string("true"), .string("1"): return true
        case .string("false"), .string("0"): return false
        default:
            throw APIError.validation([FieldProblem(field: explainField, problem: "must be true or false")])
        }
    }

    /// The answer's explanations as the JSON routes serve them; nil when none were asked for.
    static func served(_ answer: PredictionScorer.Answer) -> [ServedExplanation]? {
        guard !answer.explanations.isEmpty, case .success(let explainer) = answer.call.model.explainer else {
            return nil
        }
        return answer.explanations.map { ServedExplanation($0, explainer: explainer) }
    }

    /// The horizon of a forecast request: a whole number from 1 to the model's maximum.
    static func horizon(_ object: [String: JSONValue], forecast: ForecastModel) throws -> Int {
        guard object.keys.allSatisfy({ $0 == "horizon" || $0 == explainField }),
            case .number(let horizon) = object["horizon"] ?? .null,
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
