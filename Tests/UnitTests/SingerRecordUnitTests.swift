import Foundation
import JSON
import Testing

@testable import VCSService

@Suite("Singer records and lines")
struct SingerRecordUnitTests {
    static func json(_ text: String) throws -> JSONValue { try JSONValue.parse(Array(text.utf8)) }

    /// A stream shaped like tap-github's child streams: `_sdc_repository` declared non-null.
    static func reviews() throws -> SingerTableLayout {
        try SingerTableLayout(
            stream: "reviews",
            schema: json(
                #"{"type": ["null", "object"], "properties": {"_sdc_repository": {"type": ["string"]}, "id": {"type": ["null", "integer"]}, "body": {"type": ["null", "string"]}, "tags": {"type": ["null", "array"], "items": {"type": ["null", "string"]}}}}"#
            ), keyProperties: ["id"])
    }

    /// The root row's value of property `name`.
    static func value(_ flat: FlatRecord, _ layout: SingerTableLayout, _ name: String) -> String? {
        layout.root.slotIndex[[name]]?.values.first.flatMap { flat.rows[0][0][$0] }
    }

    @Test("_sdc_ properties are stored as datamill stores them; the loader's own are stamped by the loader")
    func sdcPropertiesStored() throws {
        let layout = try Self.reviews()
        let record = try Self.json(
            #"{"_sdc_repository": "conveyor/example-model", "id": 7, "body": "ok", "tags": ["a"], "_sdc_sequence": 5, "_sdc_batched_at": "2020-01-01T00:00:00Z", "_sdc_received_at": "2026-03-01T10:00:00Z"}"#
        )
        let flat = try layout.flatten(
            record, sequence: 1_800_000_000, receivedAt: "2026-03-02T00:00:00Z", tableVersion: nil)
        #expect(Self.value(flat, layout, "_sdc_repository") == "conveyor/example-model")
        #expect(Self.value(flat, layout, "_sdc_sequence") == "1800000000", "the loader's sequence, not the record's")
        #expect(Self.value(flat, layout, "_sdc_batched_at") == nil, "stamped when the batch loads")
        #expect(Self.value(flat, layout, "_sdc_received_at") == "2026-03-01T10:00:00Z", "the record's own wins")
        #expect(flat.rows[1].count == 1)
        let without = try layout.flatten(
            Self.json(#"{"_sdc_repository": "r", "id": 8}"#), sequence: 1, receivedAt: "2026-03-02T00:00:00Z",
            tableVersion: 3)
        #expect(Self.value(without, layout, "_sdc_received_at") == "2026-03-02T00:00:00Z")
        #expect(Self.value(without, layout, "_sdc_table_version") == "3")
    }

    @Test("a NUL in a stored string stops the load and names the field, keys and child values included")
    func nulRefused() throws {
        let layout = try Self.reviews()
        for (record, field) in [
            (#"{"_sdc_repository": "r", "id": 1, "body": "a\u0000b"}"#, "body"),
            (#"{"_sdc_repository": "r\u0000", "id": 1}"#, "_sdc_repository"),
            (#"{"_sdc_repository": "r", "id": 1, "tags": ["x", "\u0000"]}"#, "tags.1"),
        ] {
            let rejection = try #require(throws: RecordRejection.self) {
                try layout.flatten(Self.json(record), sequence: 1, receivedAt: nil, tableVersion: nil)
            }
            #expect(rejection.stopsTheLoad)
            #expect(rejection.field == field)
            #expect(rejection.description.contains("NUL"), "\(rejection)")
        }
    }

    @Test(
        "a line with text that is not UTF-8 or a lone surrogate is refused, naming the RECORD's stream and field",
        arguments: [
            (
                Array(#"{"type": "RECORD", "stream": "pull_requests", "record": {"id": 1, "title": "caf"#.utf8) + [0xFF]
                    + Array(#""}}"#.utf8), "field title is not valid UTF-8 (byte 0xFF"
            ),
            (
                Array(#"{"type": "RECORD", "stream": "s", "record": {"user": {"login": "\ud800x"}}}"#.utf8),
                #"field user.login holds a lone UTF-16 surrogate (\ud800 at byte"#
            ),
            (Array(#"{"type": "RECORD", "stream": "s", "record": {"l": ["ok", "\udc00"]}}"#.utf8), "field l.1 holds"),
            (Array(#"{"type": "STATE", "value": {"b": "\udfff"}}"#.utf8), "value.b holds a lone"),
            ([0xC0, 0xAF], "is not valid JSON"),
        ] as [([UInt8], String)])
    func invalidTextRefused(_ line: [UInt8], _ expected: String) throws {
        let error = try #require(throws: SingerMessage.ParseError.self) {
            try SingerMessage.parse(line, line: 12)
        }
        #expect(error.line == 12)
        #expect(error.description.contains(expected), "\(error)")
    }

    @Test("surrogate pairs, escaped backslashes and multi-byte text are valid")
    func validTextAccepted() throws {
        let line = #"{"type": "RECORD", "stream": "s", "record": {"a": "\ud83c\udf2c\\udc00 Größe 修正 🌬️"}}"#
        let message = try SingerMessage.parse(Array(line.utf8), line: 1)
        guard case .record(_, let record, _, _) = message else {
            Issue.record("not a record: \(message)")
            return
        }
        #expect(record["a"]?.stringValue == "🌬\\udc00 Größe 修正 🌬️")
    }

    @Test(
        "a line that is not a message says why: the parser's reason, or what it is instead",
        arguments: [
            (#"{"type": "RECORD", "stream""#, "line 3: is not valid JSON: expected ':' at byte 27"),
            (#"{"type": "RECORD",, }"#, "line 3: is not valid JSON: "),
            (#"[1, 2]"#, "line 3: is an array, not a JSON object"),
        ])
    func invalidJSONExplained(_ line: String, _ expected: String) throws {
        let error = try #require(throws: SingerMessage.ParseError.self) {
            try SingerMessage.parse(Array(line.utf8), line: 3)
        }
        #expect(error.description.hasPrefix(expected), "\(error)")
    }
}
