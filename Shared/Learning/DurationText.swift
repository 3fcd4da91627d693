/// Durations as the manifest writes them: a positive number and a unit,
/// `90s`, `20m`, `1.5h`.
public enum DurationText {
    /// The duration `text` names, or nil when it does not parse.
    public static func parse(_ text: String) -> Duration? {
        guard let unit = text.last, let number = Double(text.dropLast()), number > 0, number.isFinite else {
            return nil
        }
        let seconds: Double? =
            switch unit {
            case "s": number
            case "m": number * 60
            case "h": number * 3600
            default: nil
            }
        return seconds.map { .milliseconds(Int64($0 * 1000)) }
    }
}
