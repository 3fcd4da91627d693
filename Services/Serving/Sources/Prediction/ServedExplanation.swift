import Learning

/// One explanation as the JSON routes answer it: `base_value` and `contributions`
/// (`{feature: value}`); for a classifier both are keyed by class first
/// (`{"base_value": {class: v}, "contributions": {class: {feature: v}}}`).
struct ServedExplanation: Encodable, Sendable {
    let explanation: Explanation
    let inputs: [String]
    let classes: [String]?

    init(_ explanation: Explanation, explainer: ModelExplainer) {
        self.explanation = explanation
        self.inputs = explainer.inputNames
        self.classes = explainer.outputNames
    }

    enum Keys: String, CodingKey {
        case baseValue = "base_value"
        case contributions
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try encode(into: &container, base: .baseValue, contributions: .contributions)
    }

    /// Writes the two fields into another object's container (a single prediction's answer).
    func encode<Key: CodingKey>(
        into container: inout KeyedEncodingContainer<Key>, base baseKey: Key, contributions contributionsKey: Key
    ) throws {
        let byInput = explanation.contributions.map { Dictionary(uniqueKeysWithValues: zip(inputs, $0)) }
        if let classes {
            try container.encode(
                Dictionary(uniqueKeysWithValues: zip(classes, explanation.baseValues)), forKey: baseKey)
            try container.encode(Dictionary(uniqueKeysWithValues: zip(classes, byInput)), forKey: contributionsKey)
        } else {
            try container.encode(explanation.baseValues[0], forKey: baseKey)
            try container.encode(byInput[0], forKey: contributionsKey)
        }
    }
}
