import Foundation

/// Formats and parses `timestamptz` text. Sessions run with `TimeZone=UTC`
/// and `DateStyle=ISO`, so output looks like `2024-05-01 12:30:00.123456+00`.
enum PostgresTimestamp {
    static func format(_ date: Date) -> String {
        let seconds = date.timeIntervalSince1970
        var whole = seconds.rounded(.down)
        var micros = Int(((seconds - whole) * 1_000_000).rounded())
        if micros == 1_000_000 {
            whole += 1
            micros = 0
        }
        var time = time_t(whole)
        var parts = tm()
        gmtime_r(&time, &parts)
        // Digits written by hand: String(format:) was 5% of a prediction's CPU (perf, serving under wrk).
        var bytes = [UInt8](repeating: 0, count: 27)
        func put(_ value: Int, _ start: Int, _ width: Int) {
            var value = value
            for offset in stride(from: start + width - 1, through: start, by: -1) {
                bytes[offset] = UInt8(48 + value % 10)
                value /= 10
            }
        }
        put(Int(parts.tm_year) + 1900, 0, 4)
        bytes[4] = 45
        put(Int(parts.tm_mon) + 1, 5, 2)
        bytes[7] = 45
        put(Int(parts.tm_mday), 8, 2)
        bytes[10] = 84
        put(Int(parts.tm_hour), 11, 2)
        bytes[13] = 58
        put(Int(parts.tm_min), 14, 2)
        bytes[16] = 58
        put(Int(parts.tm_sec), 17, 2)
        bytes[19] = 46
        put(micros, 20, 6)
        bytes[26] = 90
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Parses `YYYY-MM-DD[ T]HH:MM:SS[.ffffff][Z|±HH[:MM]]`.
    static func parse(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 19 else { return nil }
        func number(_ start: Int, _ length: Int) -> Int? {
            var value = 0
            for index in start..<(start + length) {
                let digit = Int(bytes[index]) - 48
                guard (0...9).contains(digit) else { return nil }
                value = value * 10 + digit
            }
            return value
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
            let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2)
        else { return nil }
        var index = 19
        var fraction = 0.0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            var scale = 0.1
            while index < bytes.count, (48...57).contains(bytes[index]) {
                fraction += Double(bytes[index] - 48) * scale
                scale /= 10
                index += 1
            }
        }
        var offsetSeconds = 0
        if index < bytes.count {
            let sign = bytes[index]
            if sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
                guard index + 3 <= bytes.count, let hours = number(index + 1, 2) else { return nil }
                var minutes = 0
                if index + 6 <= bytes.count, bytes[index + 3] == UInt8(ascii: ":") {
                    minutes = number(index + 4, 2) ?? 0
                }
                offsetSeconds = (hours * 3600 + minutes * 60) * (sign == UInt8(ascii: "-") ? -1 : 1)
            }
        }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        let epoch = timegm(&parts)
        return Date(timeIntervalSince1970: Double(epoch - offsetSeconds) + fraction)
    }
}
