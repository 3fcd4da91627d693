import JSON
import Learning

/// One instance the live model answered, as the prediction log keeps it:
/// the canonical feature values it read and the answer it gave.
public struct ShadowRequest: Sendable, Equatable {
    /// What the live model answered.
    public enum Answer: Sendable, Equatable {
        case value(Double)
        case label(String, probabilities: [String: Double])
    }

    public let values: [String: FeatureValue]
    public let answer: Answer

    public init(values: [String: FeatureValue], answer: Answer) {
        self.values = values
        self.answer = answer
    }

    /// The instances of one logged request (`prediction_log.inputs` and
    /// `.outputs`, lined up); a row the log keeps as unmonitored, or one whose
    /// arrays do not line up, gives none.
    public static func instances(inputs: JSONValue, outputs: JSONValue) -> [ShadowRequest] {
        guard case .array(let instances) = inputs, case .array(let answers) = outputs,
            instances.count == answers.count
        else { return [] }
        return zip(instances, answers).compactMap { instance, answer in
            guard case .object(let fields) = instance, let answer = Self.answer(answer) else { return nil }
            return ShadowRequest(values: fields.mapValues(Self.value), answer: answer)
        }
    }

    /// A logged canonical value as the encoder reads it.
    static func value(_ json: JSONValue) -> FeatureValue {
        switch json {
        case .null: .missing
        case .number(let number): .number(number)
        case .bool(let flag): .bool(flag)
        case .string(let text): .text(text)
        case .array, .object: .invalid(json.kindName)
        }
    }

    static func answer(_ json: JSONValue) -> Answer? {
        switch json {
        case .number(let value): return .value(value)
        case .object(let fields):
            guard let label = fields["label"]?.stringValue else { return nil }
            let probabilities = fields["probabilities"]?.objectValue?.compactMapValues(\.doubleValue) ?? [:]
            return .label(label, probabilities: probabilities)
        default: return nil
        }
    }
}
