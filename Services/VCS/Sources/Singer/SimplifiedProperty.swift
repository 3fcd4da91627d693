import JSON

/// A named property of a simplified object schema, in the schema's order.
struct SimplifiedProperty: Sendable {
    let name: String
    let schema: SimplifiedSchema
}
