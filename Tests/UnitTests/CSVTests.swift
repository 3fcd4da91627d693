import Testing

@testable import Learning

@Suite("CSV input")
struct CSVTests {
    @Test(
        "CR-only line endings are line endings",
        arguments: ["a,b\r1,2\r3,4\r", "a,b\r\n1,2\r\n3,4\r\n", "a,b\n1,2\n3,4"])
    func lineEndings(_ text: String) throws {
        let table = try CSVTable(bytes: Array(text.utf8))
        #expect(table.header == ["a", "b"])
        #expect(table.rowCount == 2)
        #expect(table.field(row: 1, column: 1) == "4")
    }

    @Test(
        "numbers are decimal, as in JSON: hex floats, inf and nan are not numbers",
        arguments: [
            ("1.5", 1.5), (" -2e3 ", -2000), ("0x1p3", nil), ("inf", nil), ("nan", nil), ("1e400", nil), ("", nil),
        ]
            as [(String, Double?)])
    func numbers(_ text: String, _ expected: Double?) {
        let parsed = NumberParser.parse(text)
        if let expected {
            #expect(parsed == expected)
        } else {
            #expect(parsed == nil || parsed?.isFinite == false, "\(text) → \(String(describing: parsed))")
        }
    }

    @Test("a numeric feature refuses hex floats and infinities sent as text")
    func encoderRefusesHex() {
        let encoder = FeatureEncoder(features: [FeatureSpec(name: "x", type: .numeric)])
        for text in ["0x1p3", "inf", "-infinity", "NaN"] {
            guard case .problems(let problems) = encoder.encode({ _ in .text(text) }) else {
                Issue.record("\(text) was encoded")
                continue
            }
            #expect(problems.map(\.field) == ["x"])
        }
        guard case .vector(let row) = encoder.encode({ _ in .text(" 8 ") }) else {
            Issue.record("8 was refused")
            return
        }
        #expect(row == [8])
    }
}
