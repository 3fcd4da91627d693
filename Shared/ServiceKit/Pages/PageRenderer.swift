import Mustache

/// Server-rendered HTML pages: Mustache templates (`{{value}}` is always
/// HTML-escaped, so text from a pull request, a manifest or a request cannot
/// become markup) around the shared `head` and `foot` partials, which link
/// the one stylesheet and draw the service's navigation.
public struct PageRenderer: Sendable {
    /// A link in the page header.
    public struct NavLink: Sendable {
        public let href: String
        public let label: String
        public init(_ label: String, _ href: String) {
            self.label = label
            self.href = href
        }
    }

    private let library: MustacheLibrary
    private let nav: [NavLink]
    private let service: String

    /// `templates`: name → Mustache source, rendered with `render(_:title:page:)`.
    public init(service: String, nav: [NavLink], templates: [String: String]) throws {
        var library = MustacheLibrary()
        try library.register(SharedTemplates.head, named: "head")
        try library.register(SharedTemplates.foot, named: "foot")
        for (name, source) in templates { try library.register(source, named: name) }
        self.library = library
        self.nav = nav
        self.service = service
    }

    /// The page `template` with `page` as its `{{#page}}` context.
    public func render(_ template: String, title: String, page: Any) -> String {
        let context: [String: Any] = [
            "title": title, "service": service, "nav": nav.map { ["href": $0.href, "label": $0.label] },
            "page": page,
        ]
        return library.render(context, withTemplate: template) ?? "template \(template) is missing"
    }
}
