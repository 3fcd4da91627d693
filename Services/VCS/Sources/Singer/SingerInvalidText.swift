import JSON

/// Text in a Singer line that could only be stored altered: bytes that are
/// not UTF-8, or a `\u` escape of a lone UTF-16 surrogate. The JSON parser
/// turns both into U+FFFD, so two different values would become one row;
/// datamill's loader fails on them instead, and so does `vcs target`.
struct SingerInvalidText: Equatable {
    /// Where the bad text starts, in bytes from the start of the line.
    let offset: Int
    /// How many bytes it spans.
    let length: Int
    /// What is wrong with it ("is not valid UTF-8").
    let problem: String
    /// What was found there ("byte 0xFF", `\ud800`).
    let found: String

    /// The first invalid text of `bytes`, if any.
    static func first(in bytes: [UInt8]) -> SingerInvalidText? {
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\\"), index + 1 < bytes.count {
                guard bytes[index + 1] == UInt8(ascii: "u"), let code = hex4(bytes, at: index + 2) else {
                    index += 2
                    continue
                }
                if (0xD800...0xDBFF).contains(code), index + 7 < bytes.count, bytes[index + 6] == UInt8(ascii: "\\"),
                    bytes[index + 7] == UInt8(ascii: "u"), let low = hex4(bytes, at: index + 8),
                    (0xDC00...0xDFFF).contains(low)
                {
                    index += 12
                } else if (0xD800...0xDFFF).contains(code) {
                    let escape = String(decoding: bytes[index..<index + 6], as: UTF8.self)
                    return SingerInvalidText(
                        offset: index, length: 6, problem: "holds a lone UTF-16 surrogate", found: escape)
                } else {
                    index += 6
                }
            } else if byte < 0x80 {
                index += 1
            } else if let length = validSequenceLength(bytes, at: index) {
                index += length
            } else {
                let hex = String(byte, radix: 16, uppercase: true)
                return SingerInvalidText(
                    offset: index, length: 1, problem: "is not valid UTF-8",
                    found: "byte 0x\(hex.count == 1 ? "0" : "")\(hex)")
            }
        }
        return nil
    }

    /// The path (keys and array indices) of the value or key holding this text
    /// in the line's JSON, found by parsing the line with a marker in its place;
    /// nil when the text is not inside a JSON string.
    func path(in bytes: [UInt8]) -> [String]? {
        let marker = Unicode.Scalar(0x10FFFF)!
        var marked = Array(bytes[..<offset])
        marked += Array(#"\udbff\udfff"#.utf8)
        marked += bytes[(offset + length)...]
        guard let original = try? JSONValue.parse(bytes), Self.path(of: marker, in: original) == nil,
            let parsed = try? JSONValue.parse(marked)
        else { return nil }
        return Self.path(of: marker, in: parsed)
    }

    private static func path(of marker: Unicode.Scalar, in value: JSONValue) -> [String]? {
        switch value {
        case .string(let text):
            return text.unicodeScalars.contains(marker) ? [] : nil
        case .array(let items):
            for (index, item) in items.enumerated() {
                if let inner = path(of: marker, in: item) { return [String(index)] + inner }
            }
            return nil
        case .object(let fields):
            for (key, item) in fields {
                if key.unicodeScalars.contains(marker) { return [key] }
                if let inner = path(of: marker, in: item) { return [key] + inner }
            }
            return nil
        default:
            return nil
        }
    }

    private static func hex4(_ bytes: [UInt8], at start: Int) -> UInt32? {
        guard start + 4 <= bytes.count else { return nil }
        var code: UInt32 = 0
        for byte in bytes[start..<start + 4] {
            guard let digit = Character(Unicode.Scalar(byte)).hexDigitValue else { return nil }
            code = code << 4 | UInt32(digit)
        }
        return code
    }

    /// The length of the well-formed UTF-8 sequence starting at `start` (RFC 3629), nil if there is none.
    private static func validSequenceLength(_ bytes: [UInt8], at start: Int) -> Int? {
        let lead = bytes[start]
        let length: Int
        var second: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: (length, second) = (3, 0xA0...0xBF)
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: (length, second) = (3, 0x80...0x9F)
        case 0xF0: (length, second) = (4, 0x90...0xBF)
        case 0xF1...0xF3: length = 4
        case 0xF4: (length, second) = (4, 0x80...0x8F)
        default: return nil
        }
        guard start + length <= bytes.count, second.contains(bytes[start + 1]) else { return nil }
        for index in start + 2..<start + length where !(0x80...0xBF).contains(bytes[index]) { return nil }
        return length
    }
}
