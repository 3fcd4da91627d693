/// Small pieces of JSON text written directly, for hot paths where
/// `JSONEncoder` costs more than the work it reports on (a one-row
/// prediction's response and log entry).
public enum JSONText {
    /// `text` as a JSON string literal, escaped per RFC 8259.
    public static func quoted(_ text: String) -> String {
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// A number, or `null` when it is not finite (JSON has no NaN or infinity).
    public static func number(_ value: Double) -> String { value.isFinite ? "\(value)" : "null" }
}
