import Learning
import ServiceKit

/// Serving's routes for `/openapi.json`, with `POST /predict`'s request
/// schema generated from the deployed model's features.
enum ServingRoutesDescription {
    static func routes(for model: LoadedModel?) -> [APIRoute] {
        [
            APIRoute("GET", "/", "The deployed model: version, pull request, commit, metrics, gates, features."),
            APIRoute(
                "POST", "/predict", "Predict one object of features, or {\"instances\": [...]}.",
                requestSchema: model.map { predictSchema(features: $0.artifact.features) }),
            APIRoute("GET", "/deployments", "Deployment history, newest first."),
            APIRoute("POST", "/deployments/rollback", "Re-deploy the previous version on every replica.", admin: true),
        ]
    }

    static func predictSchema(features: [FeatureSpec]) -> JSONValue {
        var properties: [String: JSONValue] = [:]
        for feature in features {
            switch feature.type {
            case .numeric:
                var schema: [String: JSONValue] = ["type": .string("number")]
                if let min = feature.min { schema["minimum"] = .number(min) }
                if let max = feature.max { schema["maximum"] = .number(max) }
                properties[feature.name] = .object(schema)
            case .categorical:
                properties[feature.name] = .object([
                    "type": .string("string"), "enum": .array((feature.categories ?? []).map { .string($0) }),
                ])
            case .boolean:
                properties[feature.name] = .object(["type": .string("boolean")])
            case .date:
                properties[feature.name] = .object(["type": .string("string"), "format": .string("date")])
            }
        }
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
}
