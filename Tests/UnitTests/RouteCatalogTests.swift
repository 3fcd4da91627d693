import HTTPTypes
import ServiceKit
import Testing

@Suite("Route catalog and API document")
struct RouteCatalogTests {
    static let routes = [
        APIRoute(.get, "/runs", "list"), APIRoute(.post, "/runs", "queue", success: .accepted, admin: true),
        APIRoute(.get, "/runs/:id", "one", parameters: ["id": .object(["type": .string("integer")])]),
    ]

    @Test("the document lists each route with its success status, typed path parameters and admin security")
    func document() throws {
        let document = APIDocument.document(title: "t", routes: Self.routes)
        let paths = try #require(document["paths"])
        #expect(paths["/runs"]?["post"]?["responses"]?["202"] != nil)
        #expect(paths["/runs"]?["post"]?["security"] != nil)
        #expect(paths["/runs"]?["get"]?["security"] == nil)
        let parameter = try #require(paths["/runs/{id}"]?["get"]?["parameters"]?.arrayValue?.first)
        #expect(parameter["schema"]?["type"]?.stringValue == "integer")
        #expect(parameter["in"]?.stringValue == "path")
    }

    @Test("HTML in a route's text is escaped on the docs page")
    func escaping() {
        let page = APIDocument.page(title: "<t>", routes: [APIRoute(.get, "/x", "<script>alert(1)</script>")])
        #expect(!page.contains("<script>"))
        #expect(page.contains("&lt;script&gt;"))
    }
}
