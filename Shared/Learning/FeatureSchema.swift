/// One input feature as the manifest declares it (and the artifact records).
public struct FeatureSpec: Codable, Sendable, Equatable {
    /// Feature kinds.
    public enum Kind: String, Codable, Sendable {
        case numeric, categorical, boolean
    }

    public var name: String
    public var type: Kind
    /// Inclusive bounds for numeric features; values outside are rejected.
    public var min: Double?
    public var max: Double?
    /// Allowed values of a categorical feature; learned from the training data
    /// when the manifest does not list them.
    public var categories: [String]?

    public init(name: String, type: Kind, min: Double? = nil, max: Double? = nil, categories: [String]? = nil) {
        self.name = name
        self.type = type
        self.min = min
        self.max = max
        self.categories = categories
    }

    /// How many model inputs this feature becomes (one-hot for categories).
    var width: Int { type == .categorical ? (categories?.count ?? 0) : 1 }
}

/// A problem with one feature value.
public struct FeatureProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public let field: String
    public let problem: String
    public init(field: String, problem: String) {
        self.field = field
        self.problem = problem
    }
    public var description: String { "\(field): \(problem)" }
}

/// A feature value as it arrives (from CSV text or JSON).
public enum FeatureValue: Sendable, Equatable {
    case number(Double)
    case text(String)
    case bool(Bool)
    case missing
    /// A value of the wrong kind altogether (e.g. a JSON array), by kind name.
    case invalid(String)
}

/// Validates and encodes raw feature values into the model's input vector.
public struct FeatureEncoder: Sendable {
    public let features: [FeatureSpec]
    /// Length of the encoded vector.
    public let width: Int

    public init(features: [FeatureSpec]) {
        self.features = features
        self.width = features.reduce(0) { $0 + $1.width }
    }

    /// The outcome of encoding one row.
    public enum Encoded: Sendable, Equatable {
        case vector([Double])
        case problems([FeatureProblem])
    }

    /// Encodes one row, reporting every problem (not just the first).
    public func encode(_ lookup: (String) -> FeatureValue?) -> Encoded {
        var vector: [Double] = []
        vector.reserveCapacity(width)
        var problems: [FeatureProblem] = []
        for feature in features {
            guard let value = lookup(feature.name), value != .missing else {
                problems.append(FeatureProblem(field: feature.name, problem: "is required"))
                continue
            }
            switch feature.type {
            case .numeric:
                let number: Double?
                switch value {
                case .number(let n): number = n
                case .text(let s): number = Double(s)
                default: number = nil
                }
                guard let number, number.isFinite else {
                    let got = if case .invalid(let kind) = value { ", got \(kind)" } else { "" }
                    problems.append(FeatureProblem(field: feature.name, problem: "must be a number\(got)"))
                    continue
                }
                if let min = feature.min, number < min {
                    problems.append(
                        FeatureProblem(field: feature.name, problem: "\(number) is below the minimum \(min)"))
                } else if let max = feature.max, number > max {
                    problems.append(
                        FeatureProblem(field: feature.name, problem: "\(number) is above the maximum \(max)"))
                }
                vector.append(number)
            case .boolean:
                switch value {
                case .bool(let b): vector.append(b ? 1 : 0)
                case .text(let s) where ["true", "false", "1", "0"].contains(s.lowercased()):
                    vector.append(["true", "1"].contains(s.lowercased()) ? 1 : 0)
                case .number(let n) where n == 0 || n == 1: vector.append(n)
                default: problems.append(FeatureProblem(field: feature.name, problem: "must be true or false"))
                }
            case .categorical:
                let text: String
                switch value {
                case .text(let s): text = s
                case .number(let n): text = n == n.rounded() ? String(Int(n)) : String(n)
                case .bool(let b): text = String(b)
                case .missing, .invalid: text = ""
                }
                let categories = feature.categories ?? []
                guard let position = categories.firstIndex(of: text) else {
                    problems.append(
                        FeatureProblem(
                            field: feature.name,
                            problem:
                                "unknown category \"\(text)\"; expected one of \(categories.joined(separator: ", "))"))
                    continue
                }
                for index in categories.indices { vector.append(index == position ? 1 : 0) }
            }
        }
        return problems.isEmpty ? .vector(vector) : .problems(problems)
    }
}
