import JSON
import Testing

@testable import VCSService

@Suite("Singer layout")
struct SingerLayoutUnitTests {
    static func schema(_ text: String) throws -> JSONValue { try JSONValue.parse(Array(text.utf8)) }

    @Test(
        "a schema vcs target cannot lay out is refused with the property named",
        arguments: [
            (##"{"type": "object", "properties": {"a": {"$ref": "#/definitions/x"}}}"##, ["id"], "a", "$ref"),
            (
                #"{"type": "object", "properties": {"id": {"type": "integer"}, "b": {"allOf": []}}}"#, ["id"], "b",
                "allOf"
            ),
            (
                #"{"type": "object", "properties": {"id": {"type": ["integer", "string"]}}}"#, ["id"], "id",
                "key property"
            ),
            (#"{"type": "object", "properties": {"x": {"type": "string"}}}"#, ["id"], "id", "key property"),
        ] as [(String, [String], String, String)])
    func refused(_ schema: String, _ keys: [String], _ property: String, _ problem: String) throws {
        let value = try Self.schema(schema)
        let error = try #require(throws: SingerTableLayoutError.self) {
            try SingerTableLayout(stream: "s", schema: value, keyProperties: keys)
        }
        #expect(error.property == property, "\(error)")
        #expect(error.description.contains(problem), "\(error)")
    }

    @Test("names follow datamill: lower case, other characters to _, cut to 63 with room for a suffix")
    func identifiers() {
        #expect(SingerIdentifier.canonical("Issue-Events") == "issue_events")
        #expect(SingerIdentifier.canonical("reactions__+1") == "reactions___1")
        #expect(SingerIdentifier.canonical("cost$") == "cost$")
        #expect(SingerIdentifier.canonical("") == "_")
        let long = String(repeating: "a", count: 70)
        #expect(SingerIdentifier.truncated(long) == String(repeating: "a", count: 63))
        #expect(SingerIdentifier.truncated(long, suffix: "__1") == String(repeating: "a", count: 60) + "__1")
    }
}
