import JSON
import Learning
import ServiceKit

/// The request schemas of `POST /predict` and the v2 infer route, generated
/// from the deployed model's features (so `/openapi.json` follows each swap).
enum PredictSchemas {
    /// `POST /predict`'s bodies: JSON (one object, `instances`, or a forecast's
    /// horizon) and `text/csv`.
    static func predictContent(_ artifact: ModelArtifact?, maxInstances: Int) -> [String: JSONValue] {
        let names = (artifact?.features ?? []).map(\.name).joined(separator: ", ")
        return [
            "application/json": artifact.map { predictSchema($0, maxInstances: maxInstances) }
                ?? .object(["type": .string("object")]),
            "text/csv": .object([
                "type": .string("string"),
                "description": .string("A header row naming the features (\(names)), then one instance per row."),
            ]),
        ]
    }

    static func predictSchema(_ artifact: ModelArtifact, maxInstances: Int) -> JSONValue {
        // `explain` (or `?explain=true`), for models with exact explanations, unless a feature has the name.
        let explainable =
            ModelExplainer.isAvailable(for: artifact)
            && !artifact.features.contains { $0.name == PredictController.explainField }
        let explain: [String: JSONValue] =
            explainable
            ? [
                PredictController.explainField: .object([
                    "type": .string("boolean"),
                    "description": .string("Also answer each prediction's base_value and per-feature contributions."),
                ])
            ] : [:]
        if let forecast = artifact.forecast {
            return .object([
                "type": .string("object"), "required": .array([.string("horizon")]),
                "additionalProperties": .bool(false),
                "properties": .object(
                    [
                        "horizon": .object([
                            "type": .string("integer"), "minimum": .number(1),
                            "maximum": .number(Double(forecast.maxHorizon)),
                        ])
                    ].merging(explain) { first, _ in first }),
            ])
        }
        let features = artifact.features
        var properties: [String: JSONValue] = [:]
        for feature in features { properties[feature.name] = featureSchema(feature) }
        let instance: JSONValue = .object([
            "type": .string("object"), "properties": .object(properties),
            "required": .array(features.filter { ($0.missing ?? .reject) == .reject }.map { .string($0.name) }),
        ])
        // A single instance is any object without `instances` (that key makes it a batch).
        var single = instance.objectValue ?? [:]
        single["not"] = .object(["required": .array([.string("instances")])])
        single["properties"] = .object(properties.merging(explain) { first, _ in first })
        return .object([
            "oneOf": .array([
                .object(single),
                .object([
                    "type": .string("object"), "required": .array([.string("instances")]),
                    "properties": .object(
                        [
                            "instances": .object([
                                "type": .string("array"), "items": instance, "minItems": .number(1),
                                "maxItems": .number(Double(maxInstances)),
                            ])
                        ].merging(explain) { first, _ in first }),
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
                    "enum": .array(InferenceTensors.datatypes.sorted().map { .string($0) }),
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
