import Foundation

/// One supported operator: its domain, name, allowed attributes and compiler.
struct Operator: Sendable {
    let domain: String
    let name: String
    let attributes: Set<String>
    let compile: @Sendable (NodeSpec) throws -> CompiledNode

    init(
        _ name: String, domain: String = "", attributes: Set<String> = [],
        compile: @escaping @Sendable (NodeSpec) throws -> CompiledNode
    ) {
        self.domain = domain
        self.name = name
        self.attributes = attributes
        self.compile = compile
    }

    var key: String { Operator.key(domain: domain, name: name) }

    static func key(domain: String, name: String) -> String {
        (domain == "ai.onnx" ? "" : domain) + ":" + name
    }
}
