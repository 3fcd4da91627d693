import Foundation

/// One input feature as the manifest declares it (and the artifact records).
public struct FeatureSpec: Codable, Sendable, Equatable {
    /// Feature kinds.
    public enum Kind: String, Codable, Sendable {
        case numeric, categorical, boolean
        /// A calendar date (`YYYY-MM-DD`, optionally followed by a time), encoded as days since 1970-01-01.
        case date
    }

    /// What to do with a missing value.
    public enum MissingPolicy: String, Codable, Sendable {
        /// The row is invalid (the default).
        case reject
        /// Replace it with the training data's mean (numbers, dates) or most frequent value (categories, booleans).
        case impute
        /// Pass it to the model as missing: trees learn which way missing values go; linear models cannot.
        case native
    }

    /// What to do with a category the training data never had.
    public enum UnknownPolicy: String, Codable, Sendable {
        /// The row is invalid (the default).
        case reject
        /// Encode it as "none of the known categories" (all one-hot columns 0).
        case ignore
    }

    public var name: String
    public var type: Kind
    /// Inclusive bounds for numeric features; values outside are rejected.
    public var min: Double?
    public var max: Double?
    /// Allowed values of a categorical feature; learned from the training data
    /// when the manifest does not list them.
    public var categories: [String]?
    public var missing: MissingPolicy?
    public var unknown: UnknownPolicy?
    /// The imputed value (learned at training when `missing: impute`).
    public var fill: Double?
    /// The imputed category (learned at training when `missing: impute`).
    public var fillCategory: String?

    enum CodingKeys: String, CodingKey {
        case name, type, min, max, categories, missing, unknown, fill
        case fillCategory = "fill_category"
    }

    public init(
        name: String, type: Kind, min: Double? = nil, max: Double? = nil, categories: [String]? = nil,
        missing: MissingPolicy? = nil, unknown: UnknownPolicy? = nil
    ) {
        self.name = name
        self.type = type
        self.min = min
        self.max = max
        self.categories = categories
        self.missing = missing
        self.unknown = unknown
    }

    /// How many model inputs this feature becomes (one-hot for categories).
    public var width: Int { type == .categorical ? (categories?.count ?? 0) : 1 }
    var missingPolicy: MissingPolicy { missing ?? .reject }
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
    /// Category → position, per feature (empty for non-categorical features).
    private let categoryIndex: [[String: Int]]

    public init(features: [FeatureSpec]) {
        self.features = features
        self.width = features.reduce(0) { $0 + $1.width }
        self.categoryIndex = features.map { feature in
            Dictionary(
                (feature.categories ?? []).enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        }
    }

    /// The outcome of encoding one row.
    public enum Encoded: Sendable, Equatable {
        case vector([Double])
        case problems([FeatureProblem])
    }

    /// Encodes one row, reporting every problem (not just the first).
    public func encode(_ lookup: (String) -> FeatureValue?) -> Encoded {
        var vector = [Double](repeating: 0, count: width)
        var problems: [FeatureProblem] = []
        var offset = 0
        vector.withUnsafeMutableBufferPointer { output in
            for (index, feature) in features.enumerated() {
                if let problem = encode(lookup(feature.name) ?? .missing, feature: index, into: output, at: offset) {
                    problems.append(FeatureProblem(field: feature.name, problem: problem))
                }
                offset += feature.width
            }
        }
        return problems.isEmpty ? .vector(vector) : .problems(problems)
    }

    /// Encodes one value of feature number `index` into `output[offset...]`;
    /// returns the problem instead when it is not acceptable.
    func encode(
        _ value: FeatureValue, feature index: Int, into output: UnsafeMutableBufferPointer<Double>, at offset: Int
    ) -> String? {
        let feature = features[index]
        if value == .missing {
            switch feature.missingPolicy {
            case .reject: return "is required"
            case .native:
                if feature.type == .categorical {
                    for position in 0..<feature.width { output[offset + position] = 0 }
                } else {
                    output[offset] = .nan
                }
                return nil
            case .impute:
                if feature.type == .categorical {
                    return encode(.text(feature.fillCategory ?? ""), feature: index, into: output, at: offset)
                }
                output[offset] = feature.fill ?? .nan
                return nil
            }
        }
        switch feature.type {
        case .numeric:
            let number: Double?
            switch value {
            case .number(let n): number = n
            case .text(let s): number = NumberParser.parse(s)
            default: number = nil
            }
            guard let number, number.isFinite else {
                let got = if case .invalid(let kind) = value { ", got \(kind)" } else { "" }
                return "must be a number\(got)"
            }
            if let min = feature.min, number < min { return "\(number) is below the minimum \(min)" }
            if let max = feature.max, number > max { return "\(number) is above the maximum \(max)" }
            output[offset] = number
        case .boolean:
            switch value {
            case .bool(let b): output[offset] = b ? 1 : 0
            case .number(let n) where n == 0 || n == 1: output[offset] = n
            case .text(let s):
                switch s.lowercased() {
                case "true", "1", "yes", "t", "y": output[offset] = 1
                case "false", "0", "no", "f", "n": output[offset] = 0
                default: return "must be true or false, got \"\(s)\""
                }
            default: return "must be true or false"
            }
        case .date:
            guard case .text(let text) = value, let day = CalendarDay(text) else {
                return "must be a date (YYYY-MM-DD)"
            }
            if let min = feature.min, Double(day.ordinal) < min { return "\(text) is before the earliest date allowed" }
            if let max = feature.max, Double(day.ordinal) > max { return "\(text) is after the latest date allowed" }
            output[offset] = Double(day.ordinal)
        case .categorical:
            let text: String
            switch value {
            case .text(let s): text = s
            case .number(let n): text = n == n.rounded() && abs(n) < 1e15 ? String(Int(n)) : String(n)
            case .bool(let b): text = String(b)
            case .missing, .invalid(_): return "must be one of the categories"
            }
            for position in 0..<feature.width { output[offset + position] = 0 }
            if let position = categoryIndex[index][text] {
                output[offset + position] = 1
            } else if feature.unknown != .ignore {
                let categories = feature.categories ?? []
                let shown = categories.prefix(20).joined(separator: ", ") + (categories.count > 20 ? ", …" : "")
                return "unknown category \"\(text)\"; expected one of \(shown)"
            }
        }
        return nil
    }
}

/// A calendar day, parsed from `YYYY-MM-DD` (an ISO time after it is ignored).
public struct CalendarDay: Sendable, Equatable, Comparable, CustomStringConvertible {
    /// Days since 1970-01-01 (negative before).
    public let ordinal: Int

    public init(ordinal: Int) { self.ordinal = ordinal }

    public init?(_ text: String) {
        let utf8 = Array(text.utf8.prefix(10))
        guard utf8.count == 10, utf8[4] == UInt8(ascii: "-"), utf8[7] == UInt8(ascii: "-") else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for byte in utf8[range] {
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            (1...12).contains(month), day >= 1, day <= Self.daysIn(month: month, year: year)
        else { return nil }
        let rest = text.utf8.dropFirst(10)
        guard rest.isEmpty || rest.first == UInt8(ascii: "T") || rest.first == UInt8(ascii: " ") else { return nil }
        ordinal = Self.daysFromCivil(year: year, month: month, day: day)
    }

    /// Year, month (1–12) and day (1–31).
    public var components: (year: Int, month: Int, day: Int) {
        // Howard Hinnant's civil_from_days.
        let z = ordinal + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// 0 = Monday … 6 = Sunday.
    public var weekday: Int { ((ordinal % 7) + 7 + 3) % 7 }

    /// 1-based day of the year.
    public var dayOfYear: Int {
        let (year, _, _) = components
        return ordinal - Self.daysFromCivil(year: year, month: 1, day: 1) + 1
    }

    public var description: String {
        let (year, month, day) = components
        return String(format: "%04d-%02d-%02d", year, month, day)
    }

    public static func < (lhs: CalendarDay, rhs: CalendarDay) -> Bool { lhs.ordinal < rhs.ordinal }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Howard Hinnant's days_from_civil.
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
