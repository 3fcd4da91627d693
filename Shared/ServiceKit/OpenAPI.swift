import Foundation
import Hummingbird

/// One documented route of a service.
public struct APIRoute: Sendable {
    public let method: String
    public let path: String
    public let summary: String
    /// JSON Schema of the request body, if it takes one.
    public let requestSchema: JSONValue?
    /// Other media types the body may have, with their schemas (e.g. `text/csv`).
    public let otherRequestContent: [String: JSONValue]
    /// Whether it needs `Authorization: Bearer $ADMIN_TOKEN`.
    public let admin: Bool

    public init(
        _ method: String, _ path: String, _ summary: String, requestSchema: JSONValue? = nil,
        otherRequestContent: [String: JSONValue] = [:], admin: Bool = false
    ) {
        self.method = method
        self.path = path
        self.summary = summary
        self.requestSchema = requestSchema
        self.otherRequestContent = otherRequestContent
        self.admin = admin
    }
}

/// Builds the OpenAPI 3.1 document behind `/openapi.json` and the page at `/docs`.
public enum OpenAPI {
    /// The routes every service has.
    static let commonRoutes = [
        APIRoute("GET", "/health/live", "Liveness: the process is up."),
        APIRoute("GET", "/health/ready", "Readiness: 200 when ready, 503 with the reasons otherwise."),
        APIRoute("GET", "/metrics", "Prometheus metrics (text format)."),
        APIRoute("GET", "/openapi.json", "This document."),
        APIRoute("GET", "/docs", "The routes as an HTML page."),
    ]

    static let errorSchema: JSONValue = .object([
        "type": .string("object"),
        "properties": .object([
            "error": .object([
                "type": .string("object"),
                "properties": .object([
                    "status": .object(["type": .string("integer")]),
                    "message": .object(["type": .string("string")]),
                    "problems": .object([
                        "type": .string("array"),
                        "items": .object([
                            "type": .string("object"),
                            "properties": .object([
                                "field": .object(["type": .string("string")]),
                                "problem": .object(["type": .string("string")]),
                            ]),
                        ]),
                    ]),
                ]),
            ])
        ]),
    ])

    /// The document for a service's routes plus the common ones.
    public static func document(title: String, routes: [APIRoute]) -> JSONValue {
        var paths: [String: JSONValue] = [:]
        for route in routes + commonRoutes {
            var operation: [String: JSONValue] = [
                "summary": .string(route.summary),
                "responses": .object([
                    "200": .object(["description": .string("Success")]),
                    "4XX": .object([
                        "description": .string("The request is wrong; the body says how."),
                        "content": .object(["application/json": .object(["schema": errorSchema])]),
                    ]),
                ]),
            ]
            if let schema = route.requestSchema {
                var content: [String: JSONValue] = ["application/json": .object(["schema": schema])]
                for (mediaType, other) in route.otherRequestContent { content[mediaType] = .object(["schema": other]) }
                operation["requestBody"] = .object(["required": .bool(true), "content": .object(content)])
            }
            let parameters = route.path.split(separator: "/").filter { $0.hasPrefix(":") }.map { name -> JSONValue in
                .object([
                    "name": .string(String(name.dropFirst())), "in": .string("path"), "required": .bool(true),
                    "schema": .object(["type": .string("string")]),
                ])
            }
            if !parameters.isEmpty { operation["parameters"] = .array(parameters) }
            if route.admin { operation["security"] = .array([.object(["adminToken": .array([])])]) }
            let openAPIPath = route.path.split(separator: "/").map {
                $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0)
            }
            .joined(separator: "/")
            var item = paths["/" + openAPIPath]?.objectValue ?? [:]
            item[route.method.lowercased()] = .object(operation)
            paths["/" + openAPIPath] = .object(item)
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
        func escape(_ text: String) -> String {
            text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;")
        }
        let rows = (routes + commonRoutes).map { route in
            "<tr><td><code>\(route.method)</code></td><td><code>\(escape(route.path))</code></td><td>\(escape(route.summary))"
                + (route.admin ? " <em>(admin token)</em>" : "") + "</td></tr>"
        }.joined(separator: "\n")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let json = (try? encoder.encode(document)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return """
            <!doctype html><html><head><meta charset="utf-8"><title>\(escape(title))</title>
            <style>body{font-family:sans-serif;margin:2em}td{padding:.3em 1em;border-bottom:1px solid #ddd}</style>
            </head><body><h1>\(escape(title))</h1><table>\(rows)</table>
            <h2>OpenAPI document</h2><pre>\(escape(json))</pre></body></html>
            """
    }
}
