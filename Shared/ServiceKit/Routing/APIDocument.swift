import Foundation
import JSON

/// Builds the OpenAPI 3.1 document behind `/openapi.json` and the page at
/// `/docs` from the routes a service registered.
public enum APIDocument {
    static let problemsSchema: JSONValue = .object([
        "type": .string("array"),
        "items": .object([
            "type": .string("object"),
            "required": .array([.string("field"), .string("problem")]),
            "properties": .object([
                "field": .object(["type": .string("string")]),
                "problem": .object(["type": .string("string")]),
            ]),
        ]),
    ])

    /// `{"error": {"status", "message", "problems"}}`.
    static let conveyorErrorSchema: JSONValue = .object([
        "type": .string("object"),
        "required": .array([.string("error")]),
        "properties": .object([
            "error": .object([
                "type": .string("object"),
                "required": .array([.string("status"), .string("message"), .string("problems")]),
                "properties": .object([
                    "status": .object(["type": .string("integer")]),
                    "message": .object(["type": .string("string")]),
                    "problems": problemsSchema,
                ]),
            ])
        ]),
    ])

    /// The Open Inference Protocol's `{"error": "message"}`, plus `problems`.
    static let inferenceErrorSchema: JSONValue = .object([
        "type": .string("object"),
        "required": .array([.string("error")]),
        "properties": .object([
            "error": .object(["type": .string("string")]),
            "problems": problemsSchema,
        ]),
    ])

    /// The document for `routes`.
    public static func document(title: String, routes: [APIRoute]) -> JSONValue {
        var paths: [String: JSONValue] = [:]
        for route in routes {
            let errorSchema = route.errors == .conveyor ? conveyorErrorSchema : inferenceErrorSchema
            let errorContent: JSONValue = .object(["application/json": .object(["schema": errorSchema])])
            var operation: [String: JSONValue] = [
                "summary": .string(route.summary),
                "responses": .object([
                    String(route.success.code): .object(["description": .string(route.success.reasonPhrase)]),
                    "4XX": .object([
                        "description": .string("The request is wrong; the body says how."), "content": errorContent,
                    ]),
                    "5XX": .object([
                        "description": .string("Not available now (e.g. no model yet, the database is down)."),
                        "content": errorContent,
                    ]),
                ]),
            ]
            if let body = route.requestBody?() {
                let content = body.mapValues { JSONValue.object(["schema": $0]) }
                operation["requestBody"] = .object(["required": .bool(true), "content": .object(content)])
            }
            var parameters = route.parameterNames.map { name -> JSONValue in
                .object([
                    "name": .string(name), "in": .string("path"), "required": .bool(true),
                    "schema": route.parameters[name] ?? .object(["type": .string("string")]),
                ])
            }
            for (name, schema) in route.query.sorted(by: { $0.key < $1.key }) {
                parameters.append(
                    .object([
                        "name": .string(name), "in": .string("query"), "required": .bool(false), "schema": schema,
                    ]))
            }
            if !parameters.isEmpty { operation["parameters"] = .array(parameters) }
            if route.admin { operation["security"] = .array([.object(["adminToken": .array([])])]) }
            var item = paths[route.openAPIPath]?.objectValue ?? [:]
            item[route.method.rawValue.lowercased()] = .object(operation)
            paths[route.openAPIPath] = .object(item)
        }
        return .object([
            "openapi": .string("3.1.0"),
            "info": .object(["title": .string(title), "version": .string("1")]),
            "paths": .object(paths),
            "components": .object([
                "securitySchemes": .object([
                    "adminToken": .object(["type": .string("http"), "scheme": .string("bearer")])
                ])
            ]),
        ])
    }

    /// A self-contained HTML page listing the routes (no external scripts).
    public static func page(title: String, routes: [APIRoute], document: JSONValue) -> String {
        let rows = routes.map { route in
            "<tr><td><code>\(route.method.rawValue)</code></td><td><code>\(HTMLText.escape(route.path))</code></td>"
                + "<td>\(HTMLText.escape(route.summary))" + (route.admin ? " <em>(admin token)</em>" : "")
                + "</td></tr>"
        }.joined(separator: "\n")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let json = (try? encoder.encode(document)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return """
            <!doctype html><html><head><meta charset="utf-8"><title>\(HTMLText.escape(title))</title>
            <style>body{font-family:sans-serif;margin:2em}td{padding:.3em 1em;border-bottom:1px solid #ddd}</style>
            </head><body><h1>\(HTMLText.escape(title))</h1><table>\(rows)</table>
            <h2>OpenAPI document</h2><pre>\(HTMLText.escape(json))</pre></body></html>
            """
    }
}

/// Escaping for text placed in HTML.
public enum HTMLText {
    /// Escapes `&`, `<`, `>`, `"` and `'`.
    public static func escape(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}
