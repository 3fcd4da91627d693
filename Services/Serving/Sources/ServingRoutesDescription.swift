import Learning
import ServiceKit

/// Serving's routes for `/openapi.json`, with the request schemas of
/// `POST /predict` and the v2 infer route generated from the deployed
/// model's features.
enum ServingRoutesDescription {
    static func routes(for model: LoadedModel?) -> [APIRoute] {
        let name = model?.artifact.name ?? "{name}"
        return [
            APIRoute(
                "GET", "/",
                "The deployed model: version, pull request, commit, metrics, gates, features (HTML for browsers)."),
            APIRoute(
                "POST", "/predict",
                "Predict one object of features, {\"instances\": [...]}, a forecast's {\"horizon\": N}, or a text/csv table (answered in CSV).",
                requestSchema: model.map { predictSchema($0.artifact) },
                otherRequestContent: [
                    "text/csv": .object([
                        "type": .string("string"),
                        "description": .string(
                            "A header row naming the features (\((model?.artifact.features ?? []).map(\.name).joined(separator: ", "))), then one instance per row."
                        ),
                    ])
                ]),
            APIRoute("GET", "/deployments", "Deployment history, newest first."),
            APIRoute("POST", "/deployments/rollback", "Re-deploy the previous version on every replica.", admin: true),
            APIRoute("GET", "/v2", "Open Inference Protocol: server metadata."),
            APIRoute("GET", "/v2/health/live", "Open Inference Protocol: liveness."),
            APIRoute("GET", "/v2/health/ready", "Open Inference Protocol: readiness (a model is loaded)."),
            APIRoute("GET", "/v2/models/:name", "Open Inference Protocol: model metadata (\(name))."),
            APIRoute("GET", "/v2/models/:name/ready", "Open Inference Protocol: model readiness."),
            APIRoute(
                "POST", "/v2/models/:name/infer",
                "Open Inference Protocol: infer with one tensor per feature, or one [N, F] tensor.",
                requestSchema: model.map { inferSchema(features: $0.artifact.features) }),
        ]
    }

    static func predictSchema(_ artifact: ModelArtifact) -> JSONValue {
        if let forecast = artifact.forecast {
            return .object([
                "type": .string("object"), "required": .array([.string("horizon")]),
                "properties": .object([
                    "horizon": .object([
                        "type": .string("integer"), "minimum": .number(1),
                        "maximum": .number(Double(forecast.maxHorizon)),
                    ])
                ]),
            ])
        }
        let features = artifact.features
        var properties: [String: JSONValue] = [:]
        for feature in features { properties[feature.name] = featureSchema(feature) }
        let instance: JSONValue = .object([
            "type": .string("object"), "properties": .object(properties),
            "required": .array(features.filter { ($0.missing ?? .reject) == .reject }.map { .string($0.name) }),
        ])
        return .object([
            "oneOf": .array([
                instance,
                .object([
                    "type": .string("object"), "required": .array([.string("instances")]),
                    "properties": .object(["instances": .object(["type": .string("array"), "items": instance])]),
                ]),
            ])
        ])
    }

    static func featureSchema(_ feature: FeatureSpec) -> JSONValue {
        let nullable = (feature.missing ?? .reject) != .reject
        func typed(_ type: String) -> JSONValue {
            nullable ? .array([.string(type), .string("null")]) : .string(type)
        }
        switch feature.type {
        case .numeric:
            var schema: [String: JSONValue] = ["type": typed("number")]
            if let min = feature.min { schema["minimum"] = .number(min) }
            if let max = feature.max { schema["maximum"] = .number(max) }
            return .object(schema)
        case .categorical:
            var schema: [String: JSONValue] = ["type": typed("string")]
            if (feature.unknown ?? .reject) == .reject {
                schema["enum"] = .array((feature.categories ?? []).map { .string($0) } + (nullable ? [.null] : []))
            }
            return .object(schema)
        case .boolean:
            return .object(["type": typed("boolean")])
        case .date:
            return .object(["type": typed("string"), "format": .string("date")])
        }
    }

    static func inferSchema(features: [FeatureSpec]) -> JSONValue {
        let tensor: JSONValue = .object([
            "type": .string("object"),
            "required": .array(["name", "shape", "datatype", "data"].map { .string($0) }),
            "properties": .object([
                "name": .object(["type": .string("string")]),
                "shape": .object(["type": .string("array"), "items": .object(["type": .string("integer")])]),
                "datatype": .object([
                    "type": .string("string"),
                    "enum": .array(InferenceRequestHandler.datatypes.sorted().map { .string($0) }),
                ]),
                "data": .object(["type": .string("array")]),
            ]),
        ])
        return .object([
            "type": .string("object"), "required": .array([.string("inputs")]),
            "properties": .object([
                "id": .object(["type": .string("string")]),
                "inputs": .object(["type": .string("array"), "items": tensor, "minItems": .number(1)]),
            ]),
        ])
    }
}
