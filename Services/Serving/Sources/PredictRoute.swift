import Foundation
import Hummingbird
import Learning
import ServiceKit
import Synchronization

/// `POST /predict`: one JSON object of features, or `{"instances": [...]}`.
/// Inputs are validated against the deployed model's feature schema; every
/// problem is reported with its field, and bad input never causes a 5xx.
final class PredictRoute: Sendable {
    let store: ModelStore
    let log: PredictionLog
    let maxBodyBytes: Int
    let maxInstances: Int
    private let requestCounter = Atomic<Int>(0)
    private let requestPrefix = String(UInt32.random(in: 0...UInt32.max), radix: 36)

    init(store: ModelStore, log: PredictionLog, maxBodyBytes: Int, maxInstances: Int) {
        self.store = store
        self.log = log
        self.maxBodyBytes = maxBodyBytes
        self.maxInstances = maxInstances
    }

    /// A regression value as a number; a classification as its label and per-class probabilities.
    struct PredictedValue: Encodable {
        let output: ModelArtifact.Output
        let classes: [String]

        func encode(to encoder: any Encoder) throws {
            switch output {
            case .value(let value):
                var container = encoder.singleValueContainer()
                try container.encode(value)
            case .label(let label, let probabilities):
                var container = encoder.container(keyedBy: Keys.self)
                try container.encode(label, forKey: .label)
                try container.encode(
                    Dictionary(uniqueKeysWithValues: zip(classes, probabilities)), forKey: .probabilities)
            }
        }

        enum Keys: String, CodingKey { case label, probabilities }
    }

    private struct Single: Encodable {
        let prediction: PredictedValue
        let model_version: String
        let request_id: String
    }

    private struct Batch: Encodable {
        let predictions: [PredictedValue]
        let model_version: String
        let request_id: String
    }

    private struct DatedValue: Encodable {
        let date: String
        let value: Double
    }

    private struct Forecast: Encodable {
        let forecast: [DatedValue]
        let model_version: String
        let request_id: String
    }

    func handle(_ request: Request) async throws -> Response {
        let start = ContinuousClock.now
        guard let model = store.model else {
            throw APIError(.serviceUnavailable, "no model is deployed yet")
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: maxBodyBytes)
        } catch {
            throw APIError(.contentTooLarge, "the body is larger than \(maxBodyBytes) bytes")
        }
        let json: JSONValue
        do {
            json = try JSONValue.parse(body.readableBytesView)
        } catch {
            throw APIError(.badRequest, "the body is not valid JSON: \(Self.describe(error))")
        }
        guard case .object(let object) = json else {
            throw APIError(.badRequest, "the body must be a JSON object of features or {\"instances\": [...]}")
        }
        let requestID = "\(requestPrefix)-\(requestCounter.add(1, ordering: .relaxed).newValue)"
        let response: Response
        let outputs: [PredictedValue]
        let classes = model.artifact.classes ?? []
        func predict(_ row: [Double]) -> PredictedValue {
            PredictedValue(output: model.artifact.output(encoded: row), classes: classes)
        }
        if let forecast = model.artifact.forecast {
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
            let values = forecast.forecast(horizon: Int(horizon)) { model.artifact.predict(encoded: $0) }
            outputs = values.map { PredictedValue(output: .value($0.value), classes: []) }
            response = try JSONResponse.make(
                Forecast(
                    forecast: values.map { DatedValue(date: $0.date, value: $0.value) },
                    model_version: model.deployment.version, request_id: requestID))
        } else if let instancesValue = object["instances"] {
            guard case .array(let instances) = instancesValue else {
                throw APIError.validation([FieldProblem(field: "instances", problem: "must be an array of objects")])
            }
            guard !instances.isEmpty, instances.count <= maxInstances else {
                throw APIError.validation([
                    FieldProblem(
                        field: "instances", problem: "must hold 1 to \(maxInstances) objects, got \(instances.count)")
                ])
            }
            var problems: [FieldProblem] = []
            var predictions: [PredictedValue] = []
            predictions.reserveCapacity(instances.count)
            for (index, instance) in instances.enumerated() {
                switch encode(instance, model: model, prefix: "instances[\(index)].") {
                case .vector(let row): predictions.append(predict(row))
                case .problems(let found): problems += found.map { FieldProblem(field: $0.field, problem: $0.problem) }
                }
            }
            guard problems.isEmpty else { throw APIError.validation(problems) }
            outputs = predictions
            response = try JSONResponse.make(
                Batch(predictions: predictions, model_version: model.deployment.version, request_id: requestID))
        } else {
            switch encode(json, model: model, prefix: "") {
            case .vector(let row):
                let prediction = predict(row)
                outputs = [prediction]
                response = try JSONResponse.make(
                    Single(prediction: prediction, model_version: model.deployment.version, request_id: requestID))
            case .problems(let problems):
                throw APIError.validation(problems.map { FieldProblem(field: $0.field, problem: $0.problem) })
            }
        }
        let elapsed = ContinuousClock.now - start
        let micros = elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000
        model.predictions.increment(by: outputs.count)
        log.record(
            PredictionLogEntry(
                loggedAt: Date(), requestID: requestID, modelVersion: model.deployment.version,
                inputs: String(buffer: body), outputs: Self.json(outputs),
                latencyMicroseconds: micros))
        return response
    }

    private func encode(_ instance: JSONValue, model: LoadedModel, prefix: String) -> FeatureEncoder.Encoded {
        guard case .object(let fields) = instance else {
            return .problems([
                FeatureProblem(
                    field: prefix.isEmpty ? "(body)" : String(prefix.dropLast()), problem: "must be an object")
            ])
        }
        let result = model.encoder.encode { name in
            guard let value = fields[name] else { return nil }
            switch value {
            case .null: return .missing
            case .number(let number): return .number(number)
            case .bool(let flag): return .bool(flag)
            case .string(let text):
                return model.numericFeatures.contains(name) ? .invalid("a string") : .text(text)
            case .array, .object: return .invalid(value.kindName)
            }
        }
        guard case .problems(let problems) = result, !prefix.isEmpty else { return result }
        return .problems(problems.map { FeatureProblem(field: prefix + $0.field, problem: $0.problem) })
    }

    private static func json(_ outputs: [PredictedValue]) -> String {
        (try? JSONEncoder().encode(outputs)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
    }

    private static func describe(_ error: Error) -> String {
        if case DecodingError.dataCorrupted(let context) = error {
            return (context.underlyingError as? NSError)?.userInfo[NSDebugDescriptionErrorKey] as? String
                ?? context.debugDescription
        }
        return "\(error)"
    }
}
