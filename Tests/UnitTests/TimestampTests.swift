import Testing

@testable import VCSService

@Suite("RFC 3339 date-times from GitHub")
struct TimestampTests {
    @Test(
        "valid date-times are accepted",
        arguments: [
            "2024-05-01T12:00:00Z", "2024-02-29T23:59:59Z", "2024-05-01T12:00:00.123456Z", "2024-05-01 12:00:00+02:00",
            "2023-12-31T23:59:60-05:30", "0001-01-01T00:00:00z",
        ])
    func valid(_ text: String) {
        #expect(DateTimeText.isValid(text))
    }

    @Test(
        "impossible or malformed date-times are refused",
        arguments: [
            "2024-13-45T25:61:61Z", "0000-01-01T00:00:00Z", "2024-05-01T12:00:00+99:99", "2023-02-29T00:00:00Z",
            "2024-04-31T00:00:00Z", "2024-05-01T24:00:00Z", "2024-05-01T12:60:00Z", "2024-05-01T12:00:00",
            "2024-05-01T12:00:00.Z", "2024-5-01T12:00:00Z", "not a date at all!!", "2024-05-01T12:00:00+0200",
        ])
    func invalid(_ text: String) {
        #expect(!DateTimeText.isValid(text))
    }
}
