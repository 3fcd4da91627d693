import Foundation
import JSON

/// Builds the OpenAPI 3.1 document behind `/openapi.json` (and so `/docs`)
/// from the routes a service registered.
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
            var responses: [String: JSONValue] = [
                String(route.success.code): .object(["description": .string(route.success.reasonPhrase)]),
                "4XX": .object([
                    "description": .string("The request is wrong; the body says how."), "content": errorContent,
                ]),
                "5XX": .object([
                    "description": .string("Not available now (e.g. no model yet, the database is down)."),
                    "content": errorContent,
                ]),
            ]
            for status in route.otherSuccesses {
                responses[String(status.code)] = .object(["description": .string(status.reasonPhrase)])
            }
            var operation: [String: JSONValue] = ["summary": .string(route.summary), "responses": .object(responses)]
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
                        "name": .string(name), "in": .string("query"),
                        "required": .bool(route.requiredQuery.contains(name)), "schema": schema,
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
}

extension APIDocument {
    /// The interactive `/docs` page for `routes`, generated from their OpenAPI document.
    public static func page(
        title: String, routes: [APIRoute], nav: [PageRenderer.NavLink] = [PageRenderer.NavLink("API", "/docs")]
    ) -> String {
        DocsPage.render(DocsPage.renderer(title: title, nav: nav), title: title, routes: routes)
    }
}
