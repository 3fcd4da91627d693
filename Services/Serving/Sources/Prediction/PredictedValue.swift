import Learning

/// One answer: a regression value as a number; a classification as its label
/// and per-class probabilities.
struct PredictedValue: Encodable, Sendable {
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

    /// The regression value, or the label's probability for a classification.
    var number: Double {
        switch output {
        case .value(let value): value
        case .label(_, let probabilities): probabilities.max() ?? .nan
        }
    }
}
