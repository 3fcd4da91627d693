import Testing

@testable import VCSService

@Suite("Link headers (RFC 8288) as GitHub paginates")
struct LinkHeaderTests {
    static let github =
        #"<https://api.github.com/repos/o/r/pulls?page=2>; rel="next", <https://api.github.com/repos/o/r/pulls?page=9>; rel="last""#

    @Test(
        "finds the URL of a relation",
        arguments: [
            ("next", "https://api.github.com/repos/o/r/pulls?page=2"),
            ("last", "https://api.github.com/repos/o/r/pulls?page=9"),
        ])
    func relation(_ relation: String, _ url: String) {
        #expect(LinkHeader.url(in: Self.github, relation: relation) == url)
    }

    @Test("a relation that is absent, a missing header or a malformed part gives nil")
    func absent() {
        #expect(LinkHeader.url(in: Self.github, relation: "prev") == nil)
        #expect(LinkHeader.url(in: nil, relation: "next") == nil)
        #expect(LinkHeader.url(in: #"https://x/?page=2; rel="next""#, relation: "next") == nil)
    }

    @Test("several relations in one rel parameter")
    func multipleRelations() {
        #expect(LinkHeader.url(in: #"<https://x/2>; rel="next last""#, relation: "last") == "https://x/2")
    }
}
