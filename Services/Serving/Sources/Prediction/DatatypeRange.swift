import JSON
import ServiceKit

/// The values an Open Inference Protocol datatype can hold: whole numbers in
/// the integer types' ranges, finite numbers the float types can represent.
/// A value outside them is refused rather than silently taken as a number
/// the declared type could never carry (`UINT8` 300). Null (a missing
/// value) and values of another JSON kind are left to the feature checks.
struct DatatypeRange {
    /// The smallest value.
    let low: Double
    /// The largest value (integers: below `low + 2^bits`, exact in a Double).
    let high: Double
    /// Whether `high` itself is outside the type (the integer types' bound is 2^bits).
    let highIsExclusive: Bool

    static let ranges: [String: DatatypeRange] = [
        "UINT8": .integer(bits: 8, signed: false), "UINT16": .integer(bits: 16, signed: false),
        "UINT32": .integer(bits: 32, signed: false), "UINT64": .integer(bits: 64, signed: false),
        "INT8": .integer(bits: 8, signed: true), "INT16": .integer(bits: 16, signed: true),
        "INT32": .integer(bits: 32, signed: true), "INT64": .integer(bits: 64, signed: true),
        "FP16": DatatypeRange(low: -65504, high: 65504, highIsExclusive: false),
        "FP32": DatatypeRange(
            low: -Double(Float.greatestFiniteMagnitude), high: Double(Float.greatestFiniteMagnitude),
            highIsExclusive: false),
    ]

    static func integer(bits: Int, signed: Bool) -> DatatypeRange {
        let span = Double(sign: .plus, exponent: bits, significand: 1)
        return signed
            ? DatatypeRange(low: -span / 2, high: span / 2, highIsExclusive: true)
            : DatatypeRange(low: 0, high: span, highIsExclusive: true)
    }

    /// What is wrong with `value` as an element of a `datatype` tensor, if anything.
    static func problem(_ value: JSONValue, datatype: String) -> String? {
        guard case .number(let number) = value, let range = ranges[datatype] else { return nil }
        if range.highIsExclusive, number != number.rounded() { return "\(text(number)) is not a whole number" }
        let fits = number >= range.low && (range.highIsExclusive ? number < range.high : number <= range.high)
        guard fits else {
            let top = range.highIsExclusive ? text(range.high - 1) : text(range.high)
            return "\(text(number)) is outside \(datatype)'s range \(text(range.low)) to \(top)"
        }
        return nil
    }

    /// The first `limit` out-of-range elements of a tensor's flattened data, by field.
    static func problems(_ data: [JSONValue], datatype: String, field: String, limit: Int = 3) -> [FieldProblem] {
        guard ranges[datatype] != nil else { return [] }
        var problems: [FieldProblem] = []
        for (index, value) in data.enumerated() {
            guard let problem = problem(value, datatype: datatype) else { continue }
            problems.append(FieldProblem(field: "\(field).data[\(index)]", problem: problem))
            if problems.count == limit { break }
        }
        return problems
    }

    /// A whole number without a fraction, anything else as Swift prints it.
    private static func text(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e18 ? String(Int64(value)) : "\(value)"
    }
}
