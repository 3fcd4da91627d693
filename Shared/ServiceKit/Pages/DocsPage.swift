import Foundation
import JSON

/// `/docs`: every route of the service's own OpenAPI document, rendered
/// readably (parameters, request body schemas, whether the admin token is
/// needed) with a "try it" form that sends the request from the browser
/// (`/static/docs.js`). Generated on each request, so serving's follows the
/// deployed model's schema.
enum DocsPage {
    struct Parameter {
        let name: String
        let location: String
        let type: String
        let required: Bool
    }

    struct Body {
        let contentType: String
        let schema: String
        let example: String
    }

    struct Operation {
        let id: String
        let method: String
        let path: String
        let summary: String
        let admin: Bool
        let parameters: [Parameter]
        let hasParameters: Bool
        let bodies: [Body]
        let firstBody: Body?
        let success: String
    }

    /// The renderer of a service's docs page (parsed once per service).
    static func renderer(title: String, nav: [PageRenderer.NavLink]) -> PageRenderer {
        // A fixed template: a parse error is a programming error every docs test shows.
        try! PageRenderer(
            service: title.replacingOccurrences(of: "Conveyor ", with: ""), nav: nav, templates: ["docs": template])
    }

    /// The page for `routes`, from their OpenAPI document (built per request: serving's follows the model).
    static func render(_ pages: PageRenderer, title: String, routes: [APIRoute]) -> String {
        let document = APIDocument.document(title: title, routes: routes)
        return pages.render("docs", title: title, page: operations(of: document))
    }

    /// The template's context for `document` (an OpenAPI 3.1 document as `APIDocument` builds it).
    static func operations(of document: JSONValue) -> [Operation] {
        let order = ["get", "post", "put", "patch", "delete"]
        var operations: [Operation] = []
        for (path, item) in (document["paths"]?.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
            for method in order {
                guard let operation = item[method] else { continue }
                let parameters = (operation["parameters"]?.arrayValue ?? []).map { parameter in
                    Parameter(
                        name: parameter["name"]?.stringValue ?? "", location: parameter["in"]?.stringValue ?? "",
                        type: parameter["schema"]?["type"]?.stringValue ?? "string",
                        required: parameter["required"]?.boolValue ?? false)
                }
                let content = operation["requestBody"]?["content"]?.objectValue ?? [:]
                let bodies = content.sorted { $0.key < $1.key }.map { type, media in
                    Body(
                        contentType: type, schema: pretty(media["schema"] ?? .null),
                        example: type == "application/json" ? pretty(example(of: media["schema"] ?? .null)) : "")
                }
                let success = (operation["responses"]?.objectValue ?? [:]).keys.filter { $0.hasPrefix("2") }.sorted()
                operations.append(
                    Operation(
                        id: "\(method)-\(path)".map { $0.isLetter || $0.isNumber ? $0 : "-" }.map(String.init).joined(),
                        method: method.uppercased(), path: path, summary: operation["summary"]?.stringValue ?? "",
                        admin: operation["security"] != nil, parameters: parameters,
                        hasParameters: !parameters.isEmpty, bodies: bodies,
                        firstBody: bodies.first { $0.contentType == "application/json" } ?? bodies.first,
                        success: success.joined(separator: ", ")))
            }
        }
        return operations
    }

    /// A small value that fits `schema`: the first of `oneOf`, each required
    /// property (all of them when none are required), the bounds of numbers.
    static func example(of schema: JSONValue, depth: Int = 0) -> JSONValue {
        guard depth < 6 else { return .null }
        if let first = schema["oneOf"]?.arrayValue?.first { return example(of: first, depth: depth + 1) }
        if let value = schema["example"] { return value }
        if let first = schema["enum"]?.arrayValue?.first { return first }
        switch schema["type"]?.stringValue {
        case "object":
            let properties = schema["properties"]?.objectValue ?? [:]
            let required = Set((schema["required"]?.arrayValue ?? []).compactMap(\.stringValue))
            let names = required.isEmpty ? Set(properties.keys) : required
            return .object(
                properties.filter { names.contains($0.key) }.mapValues { example(of: $0, depth: depth + 1) })
        case "array":
            return .array([example(of: schema["items"] ?? .null, depth: depth + 1)])
        case "number", "integer":
            return .number(schema["minimum"]?.doubleValue ?? schema["maximum"]?.doubleValue ?? 1)
        case "boolean": return .bool(true)
        case "string": return .string(schema["minLength"] == nil ? "" : "x")
        default: return .null
        }
    }

    static func pretty(_ value: JSONValue) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
    }

    static let template = """
        {{> head}}
        <h1>{{title}}</h1>
        <p class="muted">Generated from this service's <a href="/openapi.json">OpenAPI document</a>.
        Admin routes need <code>Authorization: Bearer $ADMIN_TOKEN</code>; enter the token in their form.</p>
        {{#page}}
        <details class="route" id="{{id}}"><summary><span class="method">{{method}}</span> <code>{{path}}</code>
        {{summary}}{{#admin}} <span class="state state-rolled-back">admin</span>{{/admin}}</summary>
        {{#hasParameters}}<table><tr><th>parameter</th><th>in</th><th>type</th><th>required</th></tr>
        {{#parameters}}<tr><td><code>{{name}}</code></td><td>{{location}}</td><td>{{type}}</td><td>{{required}}</td></tr>{{/parameters}}
        </table>{{/hasParameters}}
        {{#bodies}}<p>Request body <code>{{contentType}}</code>:</p><pre>{{schema}}</pre>{{/bodies}}
        <p class="small muted">Success: {{success}}; errors: a JSON body naming the field and the problem.</p>
        <form class="try" data-method="{{method}}" data-path="{{path}}">
        {{#parameters}}<label>{{name}} ({{location}}) <input name="{{name}}" data-in="{{location}}"></label> {{/parameters}}
        {{#admin}}<label>admin token <input name="__token" type="password" autocomplete="off"></label>{{/admin}}
        {{#firstBody}}<input type="hidden" name="__type" value="{{contentType}}">
        <textarea name="__body" aria-label="request body">{{example}}</textarea>{{/firstBody}}
        <button type="submit">Try it</button><pre class="response" aria-live="polite"></pre></form>
        </details>
        {{/page}}
        <script src="/static/docs.js"></script>
        {{> foot}}
        """

    static let script = """
        "use strict";
        function pretty(text) { try { return JSON.stringify(JSON.parse(text), null, 2); } catch (e) { return text; } }
        document.querySelectorAll("form.try").forEach(function (form) {
          form.addEventListener("submit", async function (event) {
            event.preventDefault();
            let path = form.dataset.path;
            const query = new URLSearchParams();
            form.querySelectorAll("[data-in]").forEach(function (input) {
              if (!input.value) return;
              if (input.dataset.in === "path") path = path.replace("{" + input.name + "}", encodeURIComponent(input.value));
              else query.append(input.name, input.value);
            });
            const headers = {};
            const token = form.querySelector("[name=__token]");
            if (token && token.value) headers["Authorization"] = "Bearer " + token.value;
            const body = form.querySelector("[name=__body]");
            const type = form.querySelector("[name=__type]");
            if (body) headers["Content-Type"] = type ? type.value : "application/json";
            const out = form.querySelector(".response");
            try {
              const url = path + (query.toString() ? "?" + query.toString() : "");
              const response = await fetch(url, { method: form.dataset.method, headers: headers, body: body ? body.value : undefined });
              out.textContent = response.status + " " + response.statusText + "\\n" + pretty(await response.text());
            } catch (error) {
              out.textContent = String(error);
            }
          });
        });
        """
}
