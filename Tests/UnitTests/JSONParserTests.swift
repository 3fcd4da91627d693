import Foundation
import JSON
import Testing

@Suite("JSON parser")
struct JSONParserTests {
    @Test("parses what JSONSerialization parses, to the same values")
    func validDocuments() throws {
        let text = #"""
            {"a": [1, -2.5, 3e2, 1E-3, 0, -0.0, 12345678901234567890],
             "s": "tab\tquote\" slash\/ back\\ é \u00e9 \ud83d\ude80 🚀",
             "t": true, "f": false, "n": null, "o": {"nested": {"deep": []}}, "empty": {}}
            """#
        let value = try JSONValue.parse(Array(text.utf8))
        #expect(
            value["a"]?.arrayValue?.compactMap(\.doubleValue) == [
                1, -2.5, 300, 0.001, 0, -0.0, 12_345_678_901_234_567_890,
            ])
        #expect(value["s"]?.stringValue == "tab\tquote\" slash/ back\\ é é 🚀 🚀")
        #expect(value["t"] == .bool(true) && value["f"] == .bool(false) && value["n"] == .null)
        #expect(value["o"]?["nested"]?["deep"] == .array([]))
        #expect(value["empty"] == .object([:]))
        let reference = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        #expect((reference?["s"] as? String) == value["s"]?.stringValue)
    }

    @Test("refuses what is not JSON, saying where, and survives hostile nesting")
    func invalidDocuments() {
        for text in [
            "", "{", "[1,]", "{\"a\" 1}", "{\"a\": 1,}", "\"unterminated", "tru", "01", "1.", "-", "1e",
            "{\"a\": 1} x", "\"bad \\q escape\"", "\"raw \u{01} control\"", "{'a': 1}", "NaN",
        ] {
            #expect(throws: JSONParseError.self, "\(text)") { try JSONValue.parse(Array(text.utf8)) }
        }
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONParseError.self) { try JSONValue.parse(Array(deep.utf8)) }
        do {
            _ = try JSONValue.parse(Array("{\"a\": tru}".utf8))
        } catch let error as JSONParseError {
            #expect(error.offset == 6)
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}
