import JSON

extension FeatureValue {
    /// The value as JSON in its canonical form for a feature of `type`: a number (or
    /// null) for numeric features, a string for categories and dates, true or false
    /// for booleans given as such, null when missing. The prediction log keeps
    /// instances this way, and Python models receive their rows this way.
    public func canonicalJSON(type: FeatureSpec.Kind) -> String {
        switch (type, self) {
        case (_, .missing), (_, .invalid): return "null"
        case (.numeric, .number(let number)): return number.isFinite ? "\(number)" : "null"
        case (.numeric, .text(let text)):
            return NumberParser.parse(text).map { $0.isFinite ? "\($0)" : "null" } ?? "null"
        case (.numeric, .bool(let flag)): return flag ? "1" : "0"
        case (.boolean, .bool(let flag)): return flag ? "true" : "false"
        case (_, .number(let number)):
            return JSONText.quoted(
                number == number.rounded() && abs(number) < 1e15 ? String(Int(number)) : String(number))
        case (_, .text(let text)): return JSONText.quoted(text)
        case (_, .bool(let flag)): return JSONText.quoted(String(flag))
        }
    }
}
